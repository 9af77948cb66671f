"""Features reaching the training step, sampling and scores: each value is computed again here from the
parts (spectral normalisation, R1, the loss kinds, standing statistics of the EMA weights, the MNIST
score, the projection discriminator's label, an old config.json, the lock's lease)."""

import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxgan import rng
from jaxgan.config import schema, validation
from jaxgan.config.presets import cgan, smoke
from jaxgan.core import gan, losses, regularizers, sampling
from jaxgan.errors import ConfigError
from jaxgan.evaluation import feature_metrics
from jaxgan.run import workdir
from jaxgan.run import workdir as workdir_lib

_jit_update = jax.jit(gan.gan_update, static_argnums=0)


def _state(config=None, num_classes=0, **overrides):
  config = config or smoke.get_config()
  for field, value in overrides.items():
    section, _, name = field.rpartition(".")
    (config[section] if section else config)[name] = value
  return gan.init_state(config, (28, 28, 1), num_classes)


def _batch(spec, key=0):
  real = jax.random.uniform(jax.random.PRNGKey(key), (16, 28, 28, 1))
  return real, gan.sample_noise(spec, jax.random.PRNGKey(key + 100), 16)


def _logits(spec, d_params, images):
  return nnx.merge(spec.d_graphdef, d_params)(images, None)


def _fakes(spec, state, z):
  return spec.generate(state.g_params, state.g_batch_stats, z, None, train=True)[0]


def test_the_training_step_discriminates_with_spectrally_normalised_weights():
  state, spec = _state(**{"model.d_spectral_norm": True})
  real, z = _batch(spec)
  _, metrics = _jit_update(spec, state, real, None, z)
  vectors = regularizers.power_iteration(state.d_params, state.d_sn_vectors)
  normalized = regularizers.spectral_normalize(state.d_params, vectors)
  expected = jnp.mean(jax.nn.sigmoid(_logits(spec, normalized, real)))
  assert abs(float(expected) - float(jnp.mean(jax.nn.sigmoid(_logits(spec, state.d_params, real))))
             ) > 1e-3  # Normalising changes D's output here, so the check below can tell.
  np.testing.assert_allclose(metrics["d_real"], expected, rtol=1e-5)


def test_the_r1_term_is_half_gamma_times_r1_every_times_the_penalty():
  gamma, every = 10.0, 2
  state, spec = _state(**{"loss.r1_gamma": gamma, "loss.r1_every": every})
  real, z = _batch(spec)
  _, metrics = _jit_update(spec, state, real, None, z)
  penalty = regularizers.r1_penalty(lambda x: _logits(spec, state.d_params, x), real)
  np.testing.assert_allclose(metrics["r1"], 0.5 * gamma * every * float(penalty), rtol=1e-5)


@pytest.mark.parametrize("kind", ["hinge", "least_squares"])
def test_the_discriminator_loss_kind_reaches_the_training_step(kind):
  state, spec = _state(**{"loss.discriminator": kind})
  real, z = _batch(spec)
  _, metrics = _jit_update(spec, state, real, None, z)
  real_logits = _logits(spec, state.d_params, real)
  fake_logits = _logits(spec, state.d_params, _fakes(spec, state, z))
  expected, _, _ = losses.discriminator_loss(real_logits, fake_logits, kind)
  bce, _, _ = losses.discriminator_loss(real_logits, fake_logits, "bce")
  assert abs(float(expected) - float(bce)) > 1e-3
  np.testing.assert_allclose(metrics["d_loss"], expected, rtol=1e-5)


def test_standing_statistics_are_those_of_the_ema_weights_sampled_with():
  state, spec = _state(ema_decay=0.9)
  for step in range(3):  # EMA weights apart from the raw ones.
    state, _ = _jit_update(spec, state, *_batch(spec, step)[:1], None, _batch(spec, step)[1])
  assert not np.allclose(state.ema_params["linears"][0]["kernel"],
                         state.g_params["linears"][0]["kernel"])
  key, seed = jax.random.PRNGKey(5), 3
  images = sampling.sample_images(spec, state, key, 64, mode="standing", seed=seed)
  stats = sampling.standing_stats(spec, state.ema_params, state.g_batch_stats,
                                  rng.stream_key(seed, rng.STANDING))
  z, labels = sampling.fixed_inputs(spec, key, 64)
  expected = sampling._sample(spec, state.ema_params, stats, z, labels, mode="standing")  # pylint: disable=protected-access
  np.testing.assert_array_equal(images, expected)


def test_mnist_score_of_uncertain_predictions_against_hand_computed_values():
  """Balanced but uninformative predictions score 1; two half-confident ones exp(KL) by hand."""
  uninformative = np.zeros((100, 10), np.float32)
  assert feature_metrics.mnist_score(uninformative) == pytest.approx(1.0, abs=1e-6)
  logits = np.log(np.array([[0.9, 0.1], [0.1, 0.9]], np.float32))
  kl = 0.9 * np.log(0.9 / 0.5) + 0.1 * np.log(0.1 / 0.5)  # Each row's KL to the marginal (.5, .5).
  assert feature_metrics.mnist_score(logits) == pytest.approx(np.exp(kl), rel=1e-5)


def test_the_projection_discriminator_output_depends_on_the_label():
  config = cgan.get_config()
  config.model.update(width=8, latent_dim=16)
  state, spec = _state(config, num_classes=10)
  images = jax.random.uniform(jax.random.PRNGKey(0), (4, 28, 28, 1))
  a = spec.discriminate(state.d_params, images, jnp.zeros(4, jnp.int32), state.d_sn_vectors)
  b = spec.discriminate(state.d_params, images, jnp.full(4, 7, jnp.int32), state.d_sn_vectors)
  assert np.all(np.abs(np.asarray(a) - np.asarray(b)) > 1e-6)


def test_a_conditional_step_normalises_the_projection_table_as_a_whole():
  """D's logits and gradients are those of the whole normalised table, though the step divides the
  batch's rows only (its sigma still comes from the whole table)."""
  config = cgan.get_config()
  config.model.update(width=8, latent_dim=16)
  state, spec = _state(config, num_classes=10)
  images = jax.random.uniform(jax.random.PRNGKey(0), (4, 28, 28, 1))
  labels = jnp.array([3, 3, 9, 0])
  vectors = regularizers.power_iteration(state.d_params, state.d_sn_vectors)
  whole = lambda p: nnx.merge(spec.d_graphdef, regularizers.spectral_normalize(p, vectors))(
      images, labels)
  rows = lambda p: spec.discriminate(p, images, labels, vectors)
  np.testing.assert_allclose(rows(state.d_params), whole(state.d_params), rtol=1e-5, atol=1e-6)
  grads_rows, grads_whole = (jax.grad(lambda p: jnp.sum(jnp.sin(f(p))))(state.d_params)
                             for f in (rows, whole))
  table_rows, table_whole = grads_rows["embed"]["embedding"], grads_whole["embed"]["embedding"]
  assert float(jnp.max(jnp.abs(table_whole))) > 1e-4
  np.testing.assert_allclose(table_rows, table_whole, rtol=1e-4, atol=1e-7)
  with pytest.raises(ValueError, match="not normalised"):  # A table under another name.
    regularizers.spectral_normalize(state.d_params, vectors, rows={("table",): labels})


def test_an_old_config_json_without_newer_fields_loads_with_their_defaults(tmp_path):
  saved = json.loads(smoke.get_config().to_json_best_effort())
  del saved["sampling"], saved["model"]["clusters"], saved["health"]
  (tmp_path / workdir_lib.CONFIG_FILE).write_text(json.dumps(saved))
  config = workdir_lib.load_config(str(tmp_path))
  defaults = schema.default_config()
  assert config.sampling == "running"  # What runs used before the setting existed.
  assert config.model.clusters == defaults.model.clusters
  assert config.health.to_dict() == defaults.health.to_dict()
  assert config.model.g_hidden == tuple(saved["model"]["g_hidden"]) == (32, 64)


def test_a_held_lock_renews_its_own_lease(tmp_path):
  lock = workdir.RunLock(str(tmp_path), renew_seconds=0.05)
  lock.acquire()
  old = time.time() - workdir.LEASE_SECONDS - 60
  os.utime(lock.path, (old, old))
  deadline = time.monotonic() + 30
  while os.stat(lock.path).st_mtime == old:  # Until the lease thread's next renewal.
    assert time.monotonic() < deadline, "the lease was not renewed"
    time.sleep(0.01)
  assert time.time() - os.stat(lock.path).st_mtime < workdir.LEASE_SECONDS
  lock.release()
  assert not os.path.exists(lock.path)


def _deltas(before, after):
  return jax.tree.leaves(jax.tree.map(lambda a, b: np.asarray(b) - np.asarray(a), before, after))


def test_a_learning_rate_decay_scales_each_update_by_what_is_left_of_it():
  """Both networks' second update of a 2-step run that decays over all of it is half the update
  the constant rate makes from the same state (Adam's moments are the same, only the rate falls)."""
  real, z = _batch(_state()[1])
  runs = {}
  for decay in (0.0, 1.0):
    state, spec = _state(**{"num_steps": 2, "optimizer.lr_decay": decay,
                            "optimizer.weight_decay": 0.0})
    first, _ = _jit_update(spec, state, real, None, z)
    second, _ = _jit_update(spec, first, real, None, z)
    runs[decay] = (state, first, second)
  for params in ("g_params", "d_params"):
    (s0, f0, c0), (s1, f1, c1) = ([getattr(t, params) for t in runs[d]] for d in (0.0, 1.0))
    for a, b in zip(_deltas(s0, f0), _deltas(s1, f1)):
      np.testing.assert_allclose(b, a, atol=1e-7)
    halves = [(b, 0.5 * a) for a, b in zip(_deltas(f0, c0), _deltas(f1, c1))]
    assert any(np.abs(a).max() > 1e-6 for _, a in halves)
    for b, a in halves:
      np.testing.assert_allclose(b, a, rtol=1e-3, atol=2e-7)  # Rounding of the parameters.


def test_a_decay_over_the_last_third_of_15000_steps_starts_at_step_10000():
  lr = gan.learning_rate(1.0, 15000, 1 / 3)
  assert [float(lr(step)) for step in (0, 10000, 12500, 15000)] == [1.0, 1.0, 0.5, 0.0]


@pytest.mark.parametrize("num_steps, decay, message", [
    (0, 0.5, "got 0.5, but it decays over a fraction of num_steps, which is 0"),
    (10, 1.5, "got 1.5, expected a number in"),
])
def test_a_learning_rate_decay_without_num_steps_or_over_1_is_a_config_error(num_steps, decay,
                                                                               message):
  config = smoke.get_config()
  config.num_steps, config.optimizer.lr_decay = num_steps, decay
  with pytest.raises(ConfigError, match=f"config.optimizer.lr_decay: {message}"):
    validation.validate(config)
