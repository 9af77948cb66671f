"""MSGAN's mode-seeking term (`loss.mode_seeking_weight`)."""

import jax
import numpy as np
import pytest
from flax import nnx

from jaxgan.config import validation
from jaxgan.config.presets import cgan
from jaxgan.core import gan, losses
from jaxgan.errors import ConfigError

WEIGHT, BATCH = 0.5, 8


def test_mode_seeking_loss_is_the_inverse_ratio_of_the_pairs_distances():
  rng = np.random.default_rng(0)
  fake_BxHxWxC = rng.uniform(-1, 1, (6, 4, 4, 1))
  z_BxZ = rng.normal(size=(6, 3))
  ratio = (np.mean(np.abs(fake_BxHxWxC[:3] - fake_BxHxWxC[3:]))
           / np.mean(np.abs(z_BxZ[:3] - z_BxZ[3:])))
  np.testing.assert_allclose(
      losses.mode_seeking_loss(fake_BxHxWxC.astype(np.float32), z_BxZ.astype(np.float32)),
      1 / (losses.MODE_SEEKING_EPS + ratio), rtol=1e-5)


def test_fake_pairs_share_a_label_and_g_loss_adds_the_weighted_term():
  config = cgan.get_config()
  config.model.update(width=8, latent_dim=16, clusters=0, d_spectral_norm=False)
  config.loss.update(class_weight=0.0, mode_seeking_weight=WEIGHT)
  state, spec = gan.init_state(config, (28, 28, 1), num_classes=10)
  keys = jax.random.split(jax.random.PRNGKey(0), 3)
  real = jax.random.uniform(keys[0], (BATCH, 28, 28, 1), minval=-1.0, maxval=1.0)
  labels_B = jax.random.permutation(keys[1], 10)[:BATCH]  # Eight different labels.
  z = gan.sample_noise(spec, keys[2], BATCH)
  _, metrics = jax.jit(gan.gan_update, static_argnums=0)(spec, state, real, labels_B, z)

  paired_B = np.concatenate([labels_B[:BATCH // 2]] * 2)
  fake, _ = spec.generate(state.g_params, state.g_batch_stats, z, paired_B, train=True)
  fake_logits = nnx.merge(spec.d_graphdef, state.d_params)(fake, paired_B)
  np.testing.assert_allclose(
      metrics["g_loss"],
      losses.generator_loss(fake_logits) + WEIGHT * losses.mode_seeking_loss(fake, z), rtol=1e-5)
  np.testing.assert_allclose(metrics["fake_loss"], losses.bce_with_logits(
      fake_logits, np.zeros_like(fake_logits)), rtol=1e-5)


def test_an_odd_batch_is_refused():
  config = cgan.get_config()
  config.update(batch_size=63)
  config.loss.mode_seeking_weight = WEIGHT
  with pytest.raises(ConfigError, match="sample pairs need an even batch_size, got 63"):
    validation.validate(config)
