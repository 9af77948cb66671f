"""The fused multi-step, bf16 training and the throughput benchmark's output (correctness, not speed)."""

import dataclasses
import functools
import json
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import rng
from jaxgan.config.presets import smoke
from jaxgan.core import gan, step_fns
from jaxgan.data import batches as data_lib
from tests import processes
from tests.conftest import REPO_ROOT

NUM_EXAMPLES = 72  # Batch 16: 4 steps an epoch, 8 examples dropped.


def _setup(dtype="float32"):
  config = smoke.get_config()
  config.dtype = dtype
  np_rng = np.random.default_rng(0)
  images = jnp.asarray(np_rng.integers(0, 256, (NUM_EXAMPLES, 28, 28, 1), dtype=np.uint8))
  labels = jnp.asarray(np_rng.integers(0, 10, (NUM_EXAMPLES,), dtype=np.int32))
  state, spec = gan.init_state(config, (28, 28, 1))
  steps_per_epoch = data_lib.steps_per_epoch(NUM_EXAMPLES, config.batch_size)
  data_key = rng.stream_key(state.key, rng.DATA)
  orders = [data_lib.epoch_orders(data_key, e, NUM_EXAMPLES) for e in range(3)]
  return config, state, spec, images, labels, steps_per_epoch, orders


def test_fused_steps_equal_single_steps_across_epoch_boundaries():
  config, state, spec, images, labels, steps_per_epoch, orders = _setup()
  train_steps = step_fns.make_train_steps(spec, config.batch_size, steps_per_epoch)
  single_state = jax.tree.map(jnp.copy, state)
  single_losses = []
  for step in range(6):  # Steps 0-5: the second call spans the epoch 0 -> 1 boundary.
    single_state, metrics = train_steps(single_state, images, labels,
                                        orders[step // steps_per_epoch], 1)
    single_losses.extend(metrics["g_loss"])
  fused_losses = []
  for first in (0, 3):
    state, metrics_k = train_steps(state, images, labels, orders[first // steps_per_epoch], 3)
    chex.assert_shape(metrics_k["g_loss"], (3,))
    fused_losses.extend(metrics_k["g_loss"])
  assert int(state.step) == 6
  np.testing.assert_allclose(fused_losses, single_losses, rtol=1e-6, atol=1e-6)
  chex.assert_trees_all_close(state, single_state, rtol=1e-5, atol=1e-6)


def test_train_steps_refuse_more_steps_than_an_epoch():
  config, state, spec, images, labels, _, orders = _setup()
  with pytest.raises(ValueError, match=r"steps_per_call must be in \[1, 4\], got 5"):
    step_fns.make_train_steps(spec, config.batch_size, 4)(state, images, labels, orders[0], 5)


def test_select_skip_equals_the_cond_skip():
  """The accelerators' branch-free skip of a non-finite step (select_skip) gives the state of the
  CPU's lax.cond, on a finite step and on a non-finite one (which changes nothing but the counts)."""
  config, state, spec, images, labels, steps_per_epoch, _ = _setup()
  assert not spec.select_skip  # CPU: the cond.
  real = data_lib.to_float(images[:config.batch_size], spec.value_range)
  z_BxZ = jax.random.normal(jax.random.PRNGKey(0), (config.batch_size, spec.latent_dim))
  for batch in (real, real.at[0, 0, 0, 0].set(jnp.nan)):
    results = [jax.jit(functools.partial(gan.gan_update, dataclasses.replace(spec, select_skip=s)))(
        state, batch, None, z_BxZ) for s in (False, True)]
    chex.assert_trees_all_close(results[0], results[1], rtol=1e-6, atol=1e-7)
  (cond_state, metrics), _ = results
  assert int(metrics["nonfinite"]) == 1 and int(cond_state.nonfinite_count) == 1
  chex.assert_trees_all_equal(cond_state.g_params, state.g_params)
  chex.assert_trees_all_equal(cond_state.d_opt_state, state.d_opt_state)


def test_steps_per_call_default_is_one_step_on_cpu():
  assert smoke.get_config().steps_per_call == 0
  assert step_fns.default_steps_per_call(937) == (1 if jax.default_backend() == "cpu" else 50)


def test_bfloat16_trains_and_keeps_float32_params():
  config, state, spec, images, labels, steps_per_epoch, orders = _setup("bfloat16")
  train_steps = step_fns.make_train_steps(spec, config.batch_size, steps_per_epoch)
  d_losses = []
  for epoch in range(6):
    state, metrics_k = train_steps(state, images, labels, orders[epoch % 3], steps_per_epoch)
    d_losses.extend(np.asarray(metrics_k["d_loss"]))
  for leaf in jax.tree.leaves((state.g_params, state.d_params, state.g_opt_state,
                               state.d_opt_state, state.g_batch_stats)):
    if jnp.issubdtype(leaf.dtype, jnp.floating):
      assert leaf.dtype == jnp.float32
  assert np.all(np.isfinite(d_losses))
  assert np.mean(d_losses[-4:]) < d_losses[0] - 0.04


@pytest.mark.slow
def test_throughput_prints_a_complete_json_record():
  result = processes.run(
      [sys.executable, "-m", "benchmarks.throughput", "--config=experiments/configs/smoke.py",
       "--steps=4", "--repeats=1", "--steps_per_call=2", "--peak_size=128"],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=True)
  record = json.loads(result.stdout.strip().splitlines()[-1])
  for field in ("steps_per_s", "images_per_s", "gflop_per_step", "peak_matmul_gflop_s",
                "utilization", "device", "model", "batch_size", "dtype", "steps_per_call"):
    assert field in record, field
  assert record["steps_per_call"] == 2 and record["batch_size"] == 16
  assert record["steps_per_s"] > 0 and record["gflop_per_step"] > 0
  assert record["utilization"] == pytest.approx(
      record["steps_per_s"] * record["gflop_per_step"] / record["peak_matmul_gflop_s"], rel=0.05)
