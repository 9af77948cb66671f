"""The tutorial's losses: BCE twins of torch.nn.BCELoss/BCEWithLogitsLoss and the GAN losses."""

import chex
import jax.numpy as jnp
import optax

GENERATOR_LOSSES = ("non_saturating", "minimax")


def bce(probs: chex.Array, targets: chex.Array) -> chex.Array:
  """Mean binary cross-entropy on probabilities, the twin of `torch.nn.BCELoss()`.

  Args:
    probs: probabilities in [0, 1].
    targets: targets in [0, 1], same shape.

  Returns:
    The scalar mean of -[y log x + (1 - y) log(1 - x)], each log clamped at -100 as PyTorch does.
  """
  chex.assert_equal_shape((probs, targets))
  log_p = jnp.maximum(jnp.log(probs), -100.0)
  log_not_p = jnp.maximum(jnp.log1p(-probs), -100.0)
  return -jnp.mean(targets * log_p + (1.0 - targets) * log_not_p)


def bce_with_logits(logits: chex.Array, targets: chex.Array) -> chex.Array:
  """Mean binary cross-entropy on logits, the twin of `torch.nn.BCEWithLogitsLoss()`.

  Args:
    logits: unnormalised log-odds.
    targets: targets in [0, 1], same shape.

  Returns:
    The scalar mean loss, computed in the numerically stable form.
  """
  chex.assert_equal_shape((logits, targets))
  return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, targets))


def discriminator_loss(real_logits: chex.Array, fake_logits: chex.Array
                       ) -> tuple[chex.Array, chex.Array, chex.Array]:
  """The tutorial's D loss: BCE(D(x), 1) + BCE(D(G(z)), 0), a sum of two means.

  Returns:
    (d_loss, real_loss, fake_loss).
  """
  real_loss = bce_with_logits(real_logits, jnp.ones_like(real_logits))
  fake_loss = bce_with_logits(fake_logits, jnp.zeros_like(fake_logits))
  return real_loss + fake_loss, real_loss, fake_loss


def generator_loss(fake_logits: chex.Array, kind: str = "non_saturating") -> chex.Array:
  """The G loss on D's logits for generated images.

  Args:
    fake_logits: D's logits on G(z).
    kind: "non_saturating" minimises -log D(G(z)) (the original paper's practical choice: strong gradients
      while D easily rejects fakes); "minimax" minimises log(1 - D(G(z))), which saturates there.

  Returns:
    The scalar mean loss.
  """
  if kind == "non_saturating":
    return bce_with_logits(fake_logits, jnp.ones_like(fake_logits))
  if kind == "minimax":
    return -bce_with_logits(fake_logits, jnp.zeros_like(fake_logits))
  raise ValueError(f"unknown generator loss {kind!r}; expected one of {GENERATOR_LOSSES}")
