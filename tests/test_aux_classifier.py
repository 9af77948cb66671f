"""The auxiliary classifier of D (`loss.class_weight`, AC-GAN trained on real images only)."""

import jax
import numpy as np
import pytest
from flax import nnx

from jaxgan.config import validation
from jaxgan.config.presets import cgan, smoke
from jaxgan.core import gan, losses
from jaxgan.errors import ConfigError

SUBCLUSTERS, WEIGHT, BATCH = 5, 0.5, 8


def _log_softmax(logits_BxC: np.ndarray) -> np.ndarray:
  shifted = logits_BxC - logits_BxC.max(axis=1, keepdims=True)
  return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def test_class_loss_is_the_mean_cross_entropy():
  logits_BxC = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]], np.float32)
  classes_B = np.array([0, 2])
  # -log softmax: row 0 at class 0, log(e^2 + 1 + e^-1) - 2; row 1 at any class, log 3.
  want = (np.log(np.exp(2) + 1 + np.exp(-1)) - 2 + np.log(3)) / 2
  np.testing.assert_allclose(losses.class_loss(logits_BxC, classes_B), want, rtol=1e-6)


def _hand_class_loss(discriminator, images_BxHxWxC, classes_B) -> float:
  """WEIGHT * cross-entropy of D's classifier head, by hand from its features and weights."""
  features_BxF = np.asarray(discriminator.features(images_BxHxWxC))
  logits_BxC = (features_BxF @ np.asarray(discriminator.classify.kernel[...])
                + np.asarray(discriminator.classify.bias[...]))
  return WEIGHT * -np.mean(_log_softmax(logits_BxC)[np.arange(len(classes_B)), classes_B])


def test_both_losses_add_the_weighted_cross_entropy_of_the_asked_classes():
  """Labels are (class, sub-cluster) pairs; the classifier is asked for the class, label // K."""
  config = cgan.get_config()
  config.model.update(width=8, latent_dim=16, clusters=SUBCLUSTERS, d_spectral_norm=False)
  config.loss.class_weight = WEIGHT
  state, spec = gan.init_state(config, (28, 28, 1), num_classes=10 * SUBCLUSTERS)
  keys = jax.random.split(jax.random.PRNGKey(0), 3)
  real = jax.random.uniform(keys[0], (BATCH, 28, 28, 1), minval=-1.0, maxval=1.0)
  labels_B = jax.random.randint(keys[1], (BATCH,), 0, 10 * SUBCLUSTERS)
  z = gan.sample_noise(spec, keys[2], BATCH)
  new, metrics = jax.jit(gan.gan_update, static_argnums=0)(spec, state, real, labels_B, z)

  discriminator = nnx.merge(spec.d_graphdef, state.d_params)
  classes_B = np.asarray(labels_B) // SUBCLUSTERS
  assert discriminator.classify.kernel.shape[-1] == 10
  fake, _ = spec.generate(state.g_params, state.g_batch_stats, z, labels_B, train=True)
  g_loss = (losses.generator_loss(discriminator(fake, labels_B))
            + _hand_class_loss(discriminator, fake, classes_B))
  np.testing.assert_allclose(metrics["g_loss"], g_loss, rtol=1e-5)
  d_class_loss = metrics["d_loss"] - metrics["real_loss"] - metrics["fake_loss"]
  np.testing.assert_allclose(d_class_loss, _hand_class_loss(discriminator, real, classes_B),
                             rtol=1e-4)
  # The head is trained by D's class loss alone (the fakes' loss trains G only).
  assert not np.allclose(new.d_params["classify"]["kernel"], state.d_params["classify"]["kernel"])


def test_without_a_weight_d_has_no_classifier_and_the_losses_are_unchanged():
  config = cgan.get_config()
  config.model.update(width=8, latent_dim=16, clusters=0)
  config.loss.class_weight = 0.0
  state, spec = gan.init_state(config, (28, 28, 1), num_classes=10)
  assert "classify" not in state.d_params and spec.class_weight == 0.0


@pytest.mark.parametrize("update, message", [
    (dict(conditional=False), "needs the dataset's classes"),
    (dict(name="mlp"), "only model dcgan reads it"),
])
def test_a_class_weight_without_classes_or_with_the_mlp_is_refused(update, message):
  config = smoke.get_config() if update.get("name") == "mlp" else cgan.get_config()
  config.model.update(update)
  config.model.conditional = update.get("conditional", True)
  config.loss.class_weight = WEIGHT
  with pytest.raises(ConfigError, match=message):
    validation.validate(config)
