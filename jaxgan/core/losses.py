"""The tutorial's losses (BCE twins of torch.nn.BCELoss/BCEWithLogitsLoss) and the GAN losses on D's logits."""

import chex
import jax
import jax.numpy as jnp
import optax

GENERATOR_LOSSES = ("non_saturating", "minimax", "hinge", "least_squares")
DISCRIMINATOR_LOSSES = ("bce", "hinge", "least_squares")


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


def discriminator_loss(real_logits: chex.Array, fake_logits: chex.Array, kind: str = "bce"
                       ) -> tuple[chex.Array, chex.Array, chex.Array]:
  """The D loss on its logits for real and generated images, as the sum of a real and a fake mean.

  Args:
    real_logits: D's logits on real images.
    fake_logits: D's logits on G(z).
    kind: "bce", the tutorial's BCE(D(x), 1) + BCE(D(G(z)), 0); "hinge", mean(relu(1 - D(x))) +
      mean(relu(1 + D(G(z)))) (Lim & Ye; SAGAN, BigGAN); "least_squares", LSGAN's
      mean((D(x) - 1)^2) / 2 + mean(D(G(z))^2) / 2 on the raw outputs.

  Returns:
    (d_loss, real_loss, fake_loss).
  """
  if kind == "bce":
    real_loss = bce_with_logits(real_logits, jnp.ones_like(real_logits))
    fake_loss = bce_with_logits(fake_logits, jnp.zeros_like(fake_logits))
  elif kind == "hinge":
    real_loss = jnp.mean(jax.nn.relu(1.0 - real_logits))
    fake_loss = jnp.mean(jax.nn.relu(1.0 + fake_logits))
  elif kind == "least_squares":
    real_loss = 0.5 * jnp.mean(jnp.square(real_logits - 1.0))
    fake_loss = 0.5 * jnp.mean(jnp.square(fake_logits))
  else:
    raise ValueError(f"unknown discriminator loss {kind!r}; expected one of {DISCRIMINATOR_LOSSES}")
  return real_loss + fake_loss, real_loss, fake_loss


def generator_loss(fake_logits: chex.Array, kind: str = "non_saturating") -> chex.Array:
  """The G loss on D's logits for generated images.

  Args:
    fake_logits: D's logits on G(z).
    kind: "non_saturating" minimises -log D(G(z)) (the original paper's practical choice: strong
      gradients while D easily rejects fakes); "minimax" minimises log(1 - D(G(z))), which saturates
      there; "hinge" minimises -mean(D(G(z))); "least_squares" minimises mean((D(G(z)) - 1)^2) / 2.

  Returns:
    The scalar mean loss.
  """
  if kind == "non_saturating":
    return bce_with_logits(fake_logits, jnp.ones_like(fake_logits))
  if kind == "minimax":
    return -bce_with_logits(fake_logits, jnp.zeros_like(fake_logits))
  if kind == "hinge":
    return -jnp.mean(fake_logits)
  if kind == "least_squares":
    return 0.5 * jnp.mean(jnp.square(fake_logits - 1.0))
  raise ValueError(f"unknown generator loss {kind!r}; expected one of {GENERATOR_LOSSES}")


def class_loss(class_logits_BxC: chex.Array, classes_B: chex.Array) -> chex.Array:
  """The mean softmax cross-entropy of an auxiliary classifier's logits against the classes (AC-GAN)."""
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(class_logits_BxC, classes_B))


MODE_SEEKING_EPS = 1e-5


def mode_seeking_loss(fake_BxHxWxC: chex.Array, z_BxZ: chex.Array) -> chex.Array:
  """MSGAN's mode-seeking term: 1 / (eps + mean|x1 - x2| / mean|z1 - z2|), where the pairs are
  sample i and sample i + B/2 (asked for the same label). Minimising it spreads G's images of one
  label apart as far as their latents are."""
  half = z_BxZ.shape[0] // 2
  image_gap = jnp.mean(jnp.abs(fake_BxHxWxC[:half] - fake_BxHxWxC[half:2 * half]))
  latent_gap = jnp.mean(jnp.abs(z_BxZ[:half] - z_BxZ[half:2 * half]))
  return 1.0 / (MODE_SEEKING_EPS + image_gap / latent_gap)


def weighted_generator_terms(fake_BxHxWxC: chex.Array, real_BxHxWxC: chex.Array, z_BxZ: chex.Array,
                             l1_weight: float, mode_seeking_weight: float) -> chex.Array:
  """G's optional loss terms: `l1_weight` times the mean L1 distance to the real batch, and
  `mode_seeking_weight` times `mode_seeking_loss` (each left out at weight 0)."""
  terms = jnp.zeros((), jnp.float32)
  if l1_weight:
    terms = terms + l1_weight * jnp.mean(jnp.abs(fake_BxHxWxC - real_BxHxWxC))
  if mode_seeking_weight:
    terms = terms + mode_seeking_weight * mode_seeking_loss(fake_BxHxWxC, z_BxZ)
  return terms
