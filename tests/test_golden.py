"""The JAX port against the original PyTorch code: same weights and inputs, same losses and updates.

tests/reference/seed_golden.npz holds three original PyTorch steps of the seed MLP GAN (see
tests/reference/golden.py; `python -m tests.reference.torch_seed --idx_dir=...` rewrites it).
"""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import rng
from jaxgan.config.presets import mlp_gan
from jaxgan.core import gan, step_fns
from jaxgan.data import batches as data_lib
from tests.reference import golden

# Measured: losses agree within 2e-7 relative, parameters within 5.4e-7 absolute. The largest gaps are
# where a gradient is below Adam's eps (1e-8), so float32 rounding in the gradient's sum moves the
# update by up to 0.2% of one step (lr = 3e-4); PARAM_ATOL is 1/300 of a step.
PARAM_RTOL, PARAM_ATOL = 1e-5, 1e-6
LOSS_RTOL = 1e-5


@pytest.fixture(scope="module")
def golden_file():
  with np.load(golden.GOLDEN_PATH) as f:
    yield {name: f[name] for name in f.files}


def to_jax(torch_values: dict[str, np.ndarray]) -> tuple[dict, dict, dict]:
  """PyTorch state_dict values -> (g_params, g_batch_stats, d_params) pure dicts of the NNX models.

  Linear weights are [out, in] in PyTorch and kernels are [in, out] in Flax; BatchNorm's weight is
  Flax's scale and its running_mean/running_var are the BatchStats mean/var.
  """
  g_params, g_batch_stats, d_params = {}, {}, {}
  names = {"weight": "scale", "bias": "bias", "running_mean": "mean", "running_var": "var"}
  for name, value in torch_values.items():
    net, *path, kind = name.split(".")
    if path[0] == "norms":
      tree = g_batch_stats if kind.startswith("running") else g_params
      leaf = names[kind]
    else:
      tree = g_params if net == "g" else d_params
      leaf = "kernel" if kind == "weight" else "bias"
      value = value.T if kind == "weight" else value
    keys = [int(p) if p.isdigit() else p for p in path]
    for key in keys:
      tree = tree.setdefault(key, {})
    tree[leaf] = jnp.asarray(value)
  return g_params, g_batch_stats, d_params


def golden_state():
  """The seed state and spec with PyTorch's initial weights and fresh optimizer states."""
  state, spec = gan.init_state(mlp_gan.get_config(), (28, 28, 1))
  g_params, g_batch_stats, d_params = to_jax(golden.initial_weights())
  chex.assert_trees_all_equal_shapes_and_dtypes(
      (g_params, g_batch_stats, d_params), (state.g_params, state.g_batch_stats, state.d_params))
  state = state.replace(g_params=g_params, g_batch_stats=g_batch_stats, d_params=d_params,
                        g_opt_state=spec.g_tx.init(g_params), d_opt_state=spec.d_tx.init(d_params))
  return state, spec


@pytest.fixture(scope="module")
def jax_run(golden_file):
  """Runs the jitted gan_update on the golden inputs: ({step: (g_params, g_batch_stats, d_params)},
  per-step metrics)."""
  state, spec = golden_state()
  real_SxBxHxWx1 = np.transpose(golden_file["real_SxBx1xHxW"], (0, 1, 3, 4, 2))
  step = jax.jit(functools.partial(gan.gan_update, spec), donate_argnums=0)
  weights, history = {}, []
  for s in range(1, golden.NUM_STEPS + 1):
    state, metrics = step(state, jnp.asarray(real_SxBxHxWx1[s - 1]), None,
                          jnp.asarray(golden_file["z_SxBxZ"][s - 1]))
    history.append(jax.device_get(metrics))
    weights[s] = jax.device_get((state.g_params, state.g_batch_stats, state.d_params))
  return weights, history


@pytest.mark.parametrize("num_steps", golden.CHECK_STEPS)
def test_update_matches_torch(golden_file, jax_run, num_steps):
  weights, history = jax_run
  for name in golden.LOSS_NAMES:
    np.testing.assert_allclose([m[name] for m in history[:num_steps]], golden_file[name][:num_steps],
                               rtol=LOSS_RTOL, err_msg=name)
  assert not any(m["nonfinite"] for m in history)
  expected = to_jax(golden.expected_values(golden_file, num_steps))
  chex.assert_trees_all_close(weights[num_steps], expected, rtol=PARAM_RTOL, atol=PARAM_ATOL)


def tiny_config():
  config = mlp_gan.get_config()
  config.model.g_hidden, config.model.d_hidden, config.model.latent_dim = (32,), (32,), 8
  return config


def test_step_traces_once():
  state, spec = gan.init_state(tiny_config(), (28, 28, 1))

  def update(state, real, z):
    return gan.gan_update(spec, state, real, None, z)

  chex.clear_trace_counter()
  step = jax.jit(chex.assert_max_traces(update, n=1), donate_argnums=0)
  rng = np.random.default_rng(0)
  for _ in range(3):
    state, _ = step(state, jnp.asarray(rng.random((16, 28, 28, 1), np.float32)),
                    jnp.asarray(rng.standard_normal((16, 8), np.float32)))
  assert int(state.step) == 3


def test_make_train_steps_on_device_dataset():
  state, spec = gan.init_state(tiny_config(), (28, 28, 1))
  batch_size, num_examples = 8, 40
  rng = np.random.default_rng(0)
  images = jax.device_put(rng.integers(0, 256, (num_examples, 28, 28, 1), dtype=np.uint8))
  labels = jax.device_put(rng.integers(0, 10, (num_examples,), dtype=np.int32))
  steps_per_epoch = data_lib.steps_per_epoch(num_examples, batch_size)
  train_steps = step_fns.make_train_steps(spec, batch_size, steps_per_epoch)
  orders = data_lib.epoch_orders(jax.random.PRNGKey(0), 0, num_examples)
  d_before = jax.tree.map(np.asarray, state.d_params)
  for _ in range(steps_per_epoch):
    state, metrics = train_steps(state, images, labels, orders, 1)
  assert int(state.step) == steps_per_epoch
  chex.assert_tree_all_finite(metrics)
  chex.assert_shape(list(metrics.values()), (1,))
  assert not all(jax.tree.leaves(jax.tree.map(np.array_equal, state.d_params, d_before)))


@pytest.mark.parametrize("conditional", [False, True], ids=["unconditional", "conditional"])
def test_each_fused_step_is_gan_update_on_its_batch_with_its_own_noise(conditional):
  """Two fused steps equal two `gan_update`s on their gathered batches, taken to [0, 1] by hand,
  with the labels (conditional) and the noise fold_in(noise stream, step)."""
  config = tiny_config()
  config.model.conditional = conditional
  state, spec = gan.init_state(config, (28, 28, 1), 10 if conditional else 0)
  batch_size, num_examples = 8, 40
  rng_np = np.random.default_rng(1)
  images_N = rng_np.integers(0, 256, (num_examples, 28, 28, 1), dtype=np.uint8)
  labels_N = rng_np.integers(0, 10, (num_examples,), dtype=np.int32)
  orders_2xN = data_lib.epoch_orders(jax.random.PRNGKey(2), 0, num_examples)
  expected = jax.tree.map(jnp.copy, state)
  update = jax.jit(gan.gan_update, static_argnums=0)
  for step in range(2):
    idx_B = np.asarray(orders_2xN[0])[step * batch_size:(step + 1) * batch_size]
    real_B = jnp.asarray(images_N[idx_B], jnp.float32) / 255.0
    noise_key = jax.random.fold_in(rng.stream_key(state.key, rng.NOISE), step)
    z_BxZ = jax.random.normal(noise_key, (batch_size, spec.latent_dim))
    expected, _ = update(spec, expected, real_B, labels_N[idx_B] if conditional else None, z_BxZ)
  train_steps = step_fns.make_train_steps(spec, batch_size, num_examples // batch_size)
  fused, metrics = train_steps(state, jnp.asarray(images_N), jnp.asarray(labels_N), orders_2xN, 2)
  chex.assert_shape(metrics["g_loss"], (2,))
  chex.assert_trees_all_close(fused, expected, rtol=1e-5, atol=1e-6)
