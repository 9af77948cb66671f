"""The stabilisers as config: hinge and least-squares losses, R1, spectral normalisation, D steps per
G step, sampling modes."""

import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.config.presets import dcgan, smoke
from jaxgan.core import gan, losses, regularizers, sampling
from jaxgan.models.layers import BatchNorm
from jaxgan.run import restore
from jaxgan.run import workdir as workdir_lib
from jaxgan.training import loop
from tests.test_runner import _assert_states_equal

REAL = np.array([2.0, -0.5, 0.3, 1.5], np.float32)
FAKE = np.array([-1.5, 0.8, -0.2, 1.2], np.float32)


def test_hinge_losses_against_hand_computed_values():
  # relu(1 - r): 0, 1.5, 0.7, 0 -> 0.55; relu(1 + f): 0, 1.8, 0.8, 2.2 -> 1.2.
  d_loss, real_loss, fake_loss = losses.discriminator_loss(REAL, FAKE, "hinge")
  np.testing.assert_allclose([real_loss, fake_loss, d_loss], [0.55, 1.2, 1.75], rtol=1e-6)
  np.testing.assert_allclose(losses.generator_loss(FAKE, "hinge"), -0.075, rtol=1e-6)


def test_least_squares_losses_against_hand_computed_values():
  # (r - 1)^2 / 2: 0.5, 1.125, 0.245, 0.125 -> 0.49875; f^2 / 2: 1.125, 0.32, 0.02, 0.72 -> 0.54625.
  d_loss, real_loss, fake_loss = losses.discriminator_loss(REAL, FAKE, "least_squares")
  np.testing.assert_allclose([real_loss, fake_loss, d_loss], [0.49875, 0.54625, 1.045], rtol=1e-6)
  # (f - 1)^2 / 2: 3.125, 0.02, 0.72, 0.02 -> 0.97125.
  np.testing.assert_allclose(losses.generator_loss(FAKE, "least_squares"), 0.97125, rtol=1e-6)


def test_bce_discriminator_loss_is_the_default_and_unknown_kinds_fail():
  np.testing.assert_array_equal(losses.discriminator_loss(REAL, FAKE),
                                losses.discriminator_loss(REAL, FAKE, "bce"))
  with pytest.raises(ValueError, match="unknown discriminator loss"):
    losses.discriminator_loss(REAL, FAKE, "wasserstein")


def test_r1_equals_a_finite_difference_gradient_norm():
  with jax.enable_x64():
    key_w, key_x = jax.random.split(jax.random.PRNGKey(0))
    w_D = jax.random.normal(key_w, (12,), jnp.float64)
    x_BxHxWxC = jax.random.normal(key_x, (3, 2, 2, 3), jnp.float64)
    logits_fn = lambda x: jnp.tanh(x.reshape(x.shape[0], -1) @ w_D) * 3.0
    penalty = float(regularizers.r1_penalty(logits_fn, x_BxHxWxC))
    x = np.asarray(x_BxHxWxC, np.float64)
    eps, sq_norms = 1e-6, np.zeros(len(x))
    for index in np.ndindex(x.shape[1:]):
      step = np.zeros_like(x)
      step[(slice(None), *index)] = eps
      slope = (np.asarray(logits_fn(x + step)) - np.asarray(logits_fn(x - step))) / (2 * eps)
      sq_norms += slope**2
  np.testing.assert_allclose(penalty, sq_norms.mean(), rtol=1e-6)


def test_r1_of_a_bfloat16_discriminator_is_summed_in_float32():
  real_BxHxWxC = jnp.ones((2, 16, 16, 1), jnp.bfloat16)
  logits_fn = lambda x: jnp.sum(x * jnp.bfloat16(3.0), axis=(1, 2, 3))
  penalty = regularizers.r1_penalty(logits_fn, real_BxHxWxC)
  assert penalty.dtype == jnp.float32 and float(penalty) == 9.0 * 16 * 16


def _smoke_state(**overrides):
  config = smoke.get_config()
  for field, value in overrides.items():
    section, _, name = field.rpartition(".")
    (config[section] if section else config)[name] = value
  return gan.init_state(config, (28, 28, 1))


_jit_update = jax.jit(gan.gan_update, static_argnums=0)  # Compiled once per spec.


def _update(spec, state, key=0):
  real = jax.random.uniform(jax.random.PRNGKey(key), (16, 28, 28, 1))
  z = gan.sample_noise(spec, jax.random.PRNGKey(key + 100), 16)
  return _jit_update(spec, state, real, None, z)


def test_r1_term_is_in_the_d_loss_gradient_and_lazy_steps_skip_it():
  state, spec = _smoke_state(**{"loss.r1_gamma": 10.0, "loss.r1_every": 2})
  plain_state, plain_spec = _smoke_state()
  at_0, metrics_0 = _update(spec, state)
  plain, _ = _update(plain_spec, plain_state)
  assert float(metrics_0["r1"]) > 0
  assert not np.allclose(at_0.d_params["out"]["kernel"], plain.d_params["out"]["kernel"])
  at_1, metrics_1 = _update(spec, at_0, key=1)
  assert float(metrics_1["r1"]) == 0.0  # Step 1 is not a multiple of r1_every.
  _, metrics_2 = _update(spec, at_1, key=2)
  assert float(metrics_2["r1"]) > 0  # Step 2 is.


def test_the_ema_follows_the_generator_with_the_warmed_up_decay():
  state, spec = _smoke_state(ema_decay=0.999)
  new, metrics = _update(spec, state)
  decay = min(0.999, (1 + 0) / (10 + 0))  # The warm-up at step 0.
  jax.tree.map(lambda ema, g, old: np.testing.assert_allclose(
      ema, decay * old + (1 - decay) * g, rtol=1e-5, atol=1e-7),
      new.ema_params, new.g_params, state.ema_params)
  assert sorted(metrics) == ["d_fake", "d_grad_norm", "d_loss", "d_real", "fake_loss",
                             "g_grad_norm", "g_loss", "nonfinite", "r1", "real_loss"]


def test_l1_term_adds_its_value_and_gradient_to_the_g_loss():
  """l1_weight w adds w * mean|G(z) - real| to the G loss, and its gradient to G's, nothing to D's."""
  weight = 0.7
  state, spec = _smoke_state(**{"loss.l1_weight": weight})
  _, plain_spec = _smoke_state()
  real = jax.random.uniform(jax.random.PRNGKey(0), (16, 28, 28, 1))
  z = gan.sample_noise(spec, jax.random.PRNGKey(100), 16)

  def l1_loss(g_params):
    fake, _ = spec.generate(g_params, state.g_batch_stats, z, train=True)
    return weight * jnp.mean(jnp.abs(fake - real))

  l1, l1_grads = jax.jit(jax.value_and_grad(l1_loss))(state.g_params)
  grads = {}
  for name, s in (("l1", spec), ("plain", plain_spec)):
    def g_loss(g_params, s=s):
      new, metrics = gan.gan_update(s, state.replace(g_params=g_params), real, None, z)
      return metrics["g_loss"], (metrics, new.d_params)
    grads[name] = jax.jit(jax.grad(g_loss, has_aux=True))(state.g_params)
  (l1_g, (l1_metrics, l1_d)), (plain_g, (plain_metrics, plain_d)) = grads["l1"], grads["plain"]
  assert float(l1) > 0.1
  np.testing.assert_allclose(l1_metrics["g_loss"] - plain_metrics["g_loss"], l1, rtol=1e-5)
  for got, plain, want in zip(*map(jax.tree.leaves, (l1_g, plain_g, l1_grads))):
    np.testing.assert_allclose(got - plain, want, rtol=1e-4, atol=1e-6)
  for a, b in zip(jax.tree.leaves(l1_d), jax.tree.leaves(plain_d)):
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_d_steps_updates_g_only_every_d_steps_steps():
  state, spec = _smoke_state(d_steps=2, ema_decay=0.9)
  after_0, _ = _update(spec, state)
  after_1, _ = _update(spec, after_0, key=1)
  changed = lambda a, b: not all(jax.tree.leaves(jax.tree.map(np.array_equal, a, b)))
  assert changed(after_0.g_params, state.g_params) and changed(after_0.d_params, state.d_params)
  assert not changed(after_1.g_params, after_0.g_params)
  assert not changed(after_1.ema_params, after_0.ema_params)
  assert changed(after_1.d_params, after_0.d_params)


def _dcgan_state():
  config = dcgan.get_config()
  config.model.update(width=8, latent_dim=16)
  state, spec = gan.init_state(config, (28, 28, 1))
  for step in range(3):  # Running statistics away from their initial values.
    state, _ = _update(spec, state, key=step)
  return state, spec


def test_standing_statistics_equal_the_batch_statistics_of_one_large_batch():
  state, spec = _dcgan_state()
  key = jax.random.PRNGKey(7)
  standing = sampling.standing_stats(spec, state.g_params, state.g_batch_stats, key, num_chunks=1,
                                     chunk=512)
  # A plain train-mode pass from zeroed statistics with momentum 1 stores the batch statistics.
  z_NxZ, _ = sampling.fixed_inputs(spec, jax.random.fold_in(key, 0), 512)
  _, updated = spec.generate(state.g_params, state.g_batch_stats, z_NxZ, train=True)
  momentum = BatchNorm(1).momentum
  for path, value in jax.tree_util.tree_flatten_with_path(standing)[0]:
    old = _get(state.g_batch_stats, path)
    batch_value = (np.asarray(_get(updated, path)) - (1 - momentum) * np.asarray(old)) / momentum
    np.testing.assert_allclose(value, batch_value, rtol=1e-4, atol=1e-5)
  assert not np.allclose(standing["norm1"]["mean"], state.g_batch_stats["norm1"]["mean"])


def _get(tree, path):
  for key in path:
    tree = tree[key.key]
  return tree


def test_sampling_modes_differ_for_a_batchnorm_generator_and_are_deterministic():
  state, spec = _dcgan_state()
  key = jax.random.PRNGKey(3)
  images = {mode: sampling.sample_images(spec, state, key, 200, mode=mode)
            for mode in sampling.SAMPLING_MODES}
  assert not np.array_equal(images["running"], images["standing"])
  assert not np.array_equal(images["running"], images["batch"])
  np.testing.assert_array_equal(images["standing"],
                                sampling.sample_images(spec, state, key, 200, mode="standing"))


def _random_d_params():
  keys = jax.random.split(jax.random.PRNGKey(3), 2)
  return {"conv": {"kernel": jax.random.normal(keys[0], (4, 4, 3, 8)), "bias": jnp.ones(8)},
          "out": {"kernel": jax.random.normal(keys[1], (50, 1))}}


def test_spectral_norm_divides_each_weight_matrix_by_its_largest_singular_value():
  d_params = _random_d_params()
  vectors = regularizers.init_spectral_vectors(jax.random.PRNGKey(0), d_params)
  assert jax.tree.map(jnp.shape, vectors) == {"conv": {"kernel": (8,)}, "out": {"kernel": (1,)}}
  first = regularizers.spectral_normalize(d_params, regularizers.power_iteration(d_params, vectors))
  top = lambda w: np.linalg.svd(np.asarray(w).reshape(-1, w.shape[-1]), compute_uv=False)[0]
  assert top(first["conv"]["kernel"]) > 1.05  # One step from a random vector underestimates sigma.
  vectors = regularizers.power_iteration(d_params, vectors, num_iters=500)
  normalized = regularizers.spectral_normalize(d_params, vectors)
  for name in ("conv", "out"):
    np.testing.assert_allclose(top(normalized[name]["kernel"]), 1.0, rtol=1e-4)
    np.testing.assert_allclose(normalized[name]["kernel"] * top(d_params[name]["kernel"]),
                               d_params[name]["kernel"], rtol=1e-3)
  np.testing.assert_array_equal(normalized["conv"]["bias"], d_params["conv"]["bias"])


def test_spectral_norm_gradient_holds_the_vector_constant():
  """d sigma / d W = v u^T for sigma = |W u| with u constant: W / sigma's gradient matches that."""
  d_params = {"out": {"kernel": jax.random.normal(jax.random.PRNGKey(1), (6, 3))}}
  vectors = regularizers.power_iteration(
      d_params, regularizers.init_spectral_vectors(jax.random.PRNGKey(0), d_params), num_iters=3)
  u = vectors["out"]["kernel"]
  probe = jax.random.normal(jax.random.PRNGKey(2), (6, 3))
  loss = lambda p: jnp.sum(regularizers.spectral_normalize(p, vectors)["out"]["kernel"] * probe)
  grad = jax.grad(loss)(d_params)["out"]["kernel"]
  w = d_params["out"]["kernel"]
  sigma = jnp.linalg.norm(w @ u)
  v = w @ u / sigma
  expected = probe / sigma - jnp.sum(w * probe) / sigma**2 * jnp.outer(v, u)
  np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)


def test_spectral_norm_vectors_step_with_training_and_survive_a_resume(tiny_idx_dir, tmp_path):
  """The vectors are state: a train step refines them, a checkpoint keeps them, and a run stopped
  and resumed equals an uninterrupted one, vectors included."""
  config = smoke.get_config()
  config.model.d_spectral_norm = True
  config.data.update(source="idx", idx_dir=tiny_idx_dir)
  config.update(num_steps=6, checkpoint_every_steps=3, log_every_steps=3)
  state, spec = gan.init_state(config, (28, 28, 1))
  assert jax.tree.map(jnp.shape, state.d_sn_vectors) == {
      "linears": {0: {"kernel": (64,)}, 1: {"kernel": (32,)}}, "out": {"kernel": (1,)}}
  after, _ = _update(spec, state)
  for i in (0, 1):  # The output layer's vector has one entry: always +-1.
    assert not np.allclose(after.d_sn_vectors["linears"][i]["kernel"],
                           state.d_sn_vectors["linears"][i]["kernel"])

  uninterrupted = loop.train_and_evaluate(config, str(tmp_path / "whole"))
  shutil.copytree(tmp_path / "whole", tmp_path / "resumed")
  shutil.rmtree(tmp_path / "resumed" / workdir_lib.LATEST_DIR / "6")  # As if stopped after step 3.
  _, at_3, _ = restore.restore_run(str(tmp_path / "resumed"))
  assert int(at_3.step) == 3 and at_3.d_sn_vectors is not None
  resumed = loop.train_and_evaluate(config, str(tmp_path / "resumed"))
  _assert_states_equal(resumed, uninterrupted)
  _assert_states_equal(restore.restore_run(str(tmp_path / "resumed"))[1], uninterrupted)
