"""The BCE twins and GAN losses against the tutorial's numbers and a float64 numpy computation."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.core import losses

# The tutorial's worked example (its hand computation and PyTorch's BCELoss give 0.7136848).
PROBS = np.array([[0.8172, 0.8648, 0.4122],
                  [0.3266, 0.6902, 0.5620],
                  [0.2024, 0.2884, 0.5554]], np.float32)
TARGETS = np.array([[0, 1, 1], [1, 1, 0], [0, 0, 0]], np.float32)
TUTORIAL_BCE = 0.7136848


def numpy_bce(probs, targets):
  p, y = np.float64(probs), np.float64(targets)
  return -np.mean(y * np.log(p) + (1 - y) * np.log1p(-p))


def numpy_sigmoid(x):
  return 1 / (1 + np.exp(-np.float64(x)))


def test_bce_worked_example():
  assert abs(float(losses.bce(PROBS, TARGETS)) - TUTORIAL_BCE) < 1e-6


def test_bce_with_logits_worked_example():
  logits = np.log(PROBS) - np.log1p(-PROBS)
  assert abs(float(losses.bce_with_logits(logits, TARGETS)) - TUTORIAL_BCE) < 1e-6


def test_losses_match_float64_numpy():
  rng = np.random.default_rng(0)
  logits = rng.normal(0.0, 3.0, (4, 32)).astype(np.float32)
  targets = rng.integers(0, 2, (4, 32)).astype(np.float32)
  probs = numpy_sigmoid(logits).astype(np.float32)
  real_logits, fake_logits = logits[0], logits[1]
  ones, zeros = np.ones(32), np.zeros(32)
  real_loss = numpy_bce(numpy_sigmoid(real_logits), ones)
  fake_loss = numpy_bce(numpy_sigmoid(fake_logits), zeros)
  chex.assert_trees_all_close(
      dict(bce=losses.bce(probs, targets),
           bce_with_logits=losses.bce_with_logits(logits, targets),
           d=losses.discriminator_loss(real_logits, fake_logits),
           non_saturating=losses.generator_loss(fake_logits, "non_saturating"),
           minimax=losses.generator_loss(fake_logits, "minimax")),
      jax.tree.map(np.float32, dict(
          bce=numpy_bce(probs, targets),
          bce_with_logits=numpy_bce(numpy_sigmoid(logits), targets),
          d=(real_loss + fake_loss, real_loss, fake_loss),
          non_saturating=numpy_bce(numpy_sigmoid(fake_logits), ones),
          minimax=-numpy_bce(numpy_sigmoid(fake_logits), zeros))),
      rtol=1e-5, atol=1e-6)


def test_bce_clamps_log_like_pytorch():
  # BCELoss clamps each log at -100, so a certain wrong answer costs 100, not inf.
  assert float(losses.bce(np.float32([0.0, 1.0]), np.float32([1.0, 0.0]))) == pytest.approx(100.0)


@pytest.mark.parametrize("loss_fn", [
    lambda x: losses.bce_with_logits(x, jnp.ones_like(x)),
    lambda x: losses.bce_with_logits(x, jnp.zeros_like(x)),
    lambda x: losses.generator_loss(x, "non_saturating"),
    lambda x: losses.generator_loss(x, "minimax"),
], ids=["bce_with_logits_ones", "bce_with_logits_zeros", "non_saturating", "minimax"])
def test_stable_at_extreme_logits(loss_fn):
  logits = jnp.array([-200.0, 200.0, -200.0, 200.0], jnp.float32)
  value, grad = jax.value_and_grad(loss_fn)(logits)
  chex.assert_tree_all_finite((value, grad))
  assert value.dtype == jnp.float32


def test_non_saturating_gradient_dominates_when_d_rejects_fakes():
  # D(G(z)) = sigmoid(-10) ~ 4.5e-5: D easily rejects the fakes, as early in training.
  fake_logits = jnp.full((8,), -10.0, jnp.float32)
  grad_ns = jax.grad(losses.generator_loss)(fake_logits, "non_saturating")
  grad_mm = jax.grad(losses.generator_loss)(fake_logits, "minimax")
  # Both push the logit up (negative gradient), but minimax barely: d/dl log(1 - sigmoid(l)) = -sigmoid(l).
  assert jnp.all(grad_ns < 0) and jnp.all(grad_mm < 0)
  assert jnp.all(jnp.abs(grad_ns) > 1e4 * jnp.abs(grad_mm))


def test_unknown_generator_loss_raises():
  with pytest.raises(ValueError, match="unknown generator loss 'wasserstein'"):
    losses.generator_loss(jnp.zeros((2,)), "wasserstein")


# Hand-computed losses of every kind on D's logits for two real and two generated images.
REAL_LOGITS, FAKE_LOGITS = np.array([2.0, -1.0], np.float32), np.array([0.5, -3.0], np.float32)
SOFTPLUS = {x: np.log1p(np.exp(x)) for x in (-2.0, 1.0, 0.5, -3.0, -0.5, 3.0)}


@pytest.mark.parametrize("kind, real_loss, fake_loss", [
    ("bce", (SOFTPLUS[-2.0] + SOFTPLUS[1.0]) / 2, (SOFTPLUS[0.5] + SOFTPLUS[-3.0]) / 2),
    ("hinge", (0.0 + 2.0) / 2, (1.5 + 0.0) / 2),  # mean(relu(1 - r)), mean(relu(1 + f)).
    ("least_squares", (1.0 + 4.0) / 4, (0.25 + 9.0) / 4),  # mean((r - 1)^2) / 2, mean(f^2) / 2.
])
def test_discriminator_loss_kinds_worked_example(kind, real_loss, fake_loss):
  chex.assert_trees_all_close(
      losses.discriminator_loss(jnp.asarray(REAL_LOGITS), jnp.asarray(FAKE_LOGITS), kind),
      tuple(np.float32(x) for x in (real_loss + fake_loss, real_loss, fake_loss)), rtol=1e-6)


@pytest.mark.parametrize("kind, loss", [
    ("non_saturating", (SOFTPLUS[-0.5] + SOFTPLUS[3.0]) / 2),  # -mean(log sigmoid(f)).
    ("minimax", -(SOFTPLUS[0.5] + SOFTPLUS[-3.0]) / 2),  # mean(log(1 - sigmoid(f))).
    ("hinge", -(0.5 - 3.0) / 2),
    ("least_squares", (0.25 + 16.0) / 4),
])
def test_generator_loss_kinds_worked_example(kind, loss):
  chex.assert_trees_all_close(losses.generator_loss(jnp.asarray(FAKE_LOGITS), kind),
                              np.float32(loss), rtol=1e-6)


def test_the_default_losses_are_the_tutorials():
  chex.assert_trees_all_close(losses.generator_loss(jnp.asarray(FAKE_LOGITS)),
                              losses.generator_loss(jnp.asarray(FAKE_LOGITS), "non_saturating"))
  chex.assert_trees_all_close(
      losses.discriminator_loss(jnp.asarray(REAL_LOGITS), jnp.asarray(FAKE_LOGITS)),
      losses.discriminator_loss(jnp.asarray(REAL_LOGITS), jnp.asarray(FAKE_LOGITS), "bce"))


def test_unknown_discriminator_loss_raises():
  with pytest.raises(ValueError, match="unknown discriminator loss 'wasserstein'"):
    losses.discriminator_loss(jnp.zeros((2,)), jnp.zeros((2,)), "wasserstein")
