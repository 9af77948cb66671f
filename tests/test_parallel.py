"""Data parallelism on one host: global BatchNorm statistics, the batch-size check, and the same training
state on 1 and on 8 devices."""

import gzip
import os
import struct

import jax
import numpy as np
import pytest

from jaxgan import parallel, rng
from jaxgan.config.presets import dcgan, smoke
from jaxgan.core import gan, step_fns
from jaxgan.data import batches as data_lib
from jaxgan.errors import ConfigError
from jaxgan.training import loop
from tests.state_compare import assert_same_state, max_abs_diff

IMAGE_SHAPE = (28, 28, 1)
BATCH = 16
NUM_IMAGES = 64  # 4 steps an epoch at BATCH.


def _write_tiny_idx(path, num=NUM_IMAGES) -> None:
  np_rng = np.random.default_rng(0)
  for name, array in (("train-images-idx3-ubyte.gz", np_rng.integers(0, 256, (num, 28, 28))),
                      ("train-labels-idx1-ubyte.gz", np_rng.integers(0, 10, (num,)))):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path / name, "wb") as f:
      f.write(header + array.astype(np.uint8).tobytes())


def test_mesh_spans_all_devices_with_data_axis():
  mesh = parallel.make_mesh()
  assert mesh.axis_names == (parallel.DATA_AXIS,)
  assert mesh.size == jax.device_count() == 8
  assert parallel.make_mesh(1).size == 1
  assert parallel.is_main_process()


@pytest.mark.parametrize("batch_size,ok", [(16, True), (8, True), (12, False), (4, False)])
def test_check_batch_size(batch_size, ok):
  mesh = parallel.make_mesh()
  if ok:
    parallel.check_batch_size(batch_size, mesh)
  else:
    with pytest.raises(ConfigError, match="multiple of the 8 devices") as info:
      parallel.check_batch_size(batch_size, mesh)
    assert "\n" not in str(info.value)


def test_runner_rejects_batch_not_divisible_by_devices(tmp_path):
  _write_tiny_idx(tmp_path)
  config = smoke.get_config()
  config.batch_size = 12
  config.data.source = "idx"
  config.data.idx_dir = str(tmp_path)
  with pytest.raises(ConfigError, match="config.batch_size: got 12, expected a multiple of the 8"):
    loop.train_and_evaluate(config, str(tmp_path / "run"))
  assert not (tmp_path / "run" / "checkpoints").exists()


def test_initialize_distributed_rejects_inconsistent_flags():
  with pytest.raises(ConfigError, match=r"--process_id: got 2, expected an integer in \[0, 1\]"):
    parallel.initialize_distributed("127.0.0.1:1", 2, 2)
  with pytest.raises(ConfigError, match="--num_processes: got 0"):
    parallel.initialize_distributed("127.0.0.1:1", 0, 0)


def _small(config_module):
  config = config_module.get_config()
  config.batch_size = BATCH
  config.model.latent_dim = 16
  if config.model.name == "dcgan":
    config.model.width = 8
  return config


def test_batchnorm_statistics_are_over_the_global_batch():
  config = _small(smoke)
  state, spec = _init(config)
  z_BxZ = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (BATCH, config.model.latent_dim)))

  def running_stats(mesh, z):
    params = jax.device_put((state.g_params, state.g_batch_stats), parallel.replicated(mesh))
    z = jax.device_put(z, parallel.batch_sharding(mesh))
    generate = jax.jit(lambda p, s, z: spec.generate(p, s, z, train=True))
    hlo = generate.lower(*params, z).compile().as_text()
    return jax.device_get(generate(*params, z)), hlo

  (images_8, stats_8), hlo_8 = running_stats(parallel.make_mesh(8), z_BxZ)
  (images_1, stats_1), _ = running_stats(parallel.make_mesh(1), z_BxZ)
  assert "all-reduce" in hlo_8  # The batch is split over the devices and the means combined.
  assert max_abs_diff(stats_8, stats_1) < 1e-6
  assert max_abs_diff(images_8, images_1) < 1e-6
  # Statistics of one device's shard alone (what a per-device BatchNorm would use) differ.
  (_, stats_shard), _ = running_stats(parallel.make_mesh(1), z_BxZ[:BATCH // 8])
  assert max_abs_diff(stats_shard, stats_1) > 1e-3


def _init(config):
  """(state as host numpy arrays, spec): init_state compiled as one computation, which starts faster."""
  specs = []

  def init():
    state, spec = gan.init_state(config, IMAGE_SHAPE)
    specs.append(spec)
    return state

  return jax.tree.map(np.asarray, jax.device_get(jax.jit(init)())), specs[0]


def _train(initial, spec, mesh, num_steps):
  """`num_steps` of the jitted train step on `mesh` from the host state `initial`, fed as the runner
  feeds it: the dataset replicated on every device, the batch gathered in the step."""
  np_rng = np.random.default_rng(0)
  images_N = np_rng.integers(0, 256, (NUM_IMAGES, *IMAGE_SHAPE), dtype=np.uint8)
  labels_N = np_rng.integers(0, 10, (NUM_IMAGES,), dtype=np.int32)
  steps_per_epoch = data_lib.steps_per_epoch(NUM_IMAGES, BATCH)
  state = jax.device_put(initial, parallel.replicated(mesh))
  images, labels = parallel.put_replicated(mesh, images_N), parallel.put_replicated(mesh, labels_N)
  step_fn = step_fns.make_train_steps(spec, BATCH, steps_per_epoch, parallel.batch_sharding(mesh))
  for step in range(num_steps):
    if step % steps_per_epoch == 0:
      orders_2xN = parallel.put_replicated(mesh, np.asarray(data_lib.epoch_orders(
          rng.stream_key(initial.key, rng.DATA), step // steps_per_epoch, NUM_IMAGES)))
    state, metrics = step_fn(state, images, labels, orders_2xN, 1)
  for leaf in jax.tree.leaves(state):
    assert leaf.sharding.is_fully_replicated and len(leaf.sharding.device_set) == mesh.size
  return jax.device_get((state, metrics))


@pytest.mark.parametrize("config_module", [smoke, dcgan], ids=["mlp", "dcgan"])
def test_same_state_on_1_and_8_devices(config_module):
  config = _small(config_module)
  initial, spec = _init(config)
  state_8, metrics_8 = _train(initial, spec, parallel.make_mesh(8), 20)
  state_1, metrics_1 = _train(initial, spec, parallel.make_mesh(1), 20)
  assert int(state_8.step) == int(state_1.step) == 20
  assert max_abs_diff(metrics_8, metrics_1) < 1e-5
  assert_same_state(state_8, state_1, atol=1e-5)
  z_BxZ = jax.random.normal(jax.random.PRNGKey(1), (BATCH, config.model.latent_dim))
  images_8, _ = spec.generate(state_8.g_params, state_8.g_batch_stats, z_BxZ, train=True)
  images_1, _ = spec.generate(state_1.g_params, state_1.g_batch_stats, z_BxZ, train=True)
  assert max_abs_diff(images_8, images_1) < 1e-5
  # Training moved the weights far more than the tolerance.
  assert max_abs_diff(state_1.d_params, initial.d_params) > 1e-3


def test_cpu_collective_timeouts_are_added_without_overriding_the_users(monkeypatch):
  name = "xla_cpu_collective_call_terminate_timeout_seconds"
  monkeypatch.setenv("XLA_FLAGS", f"--xla_dump_to=/tmp/x --{name}=7")
  parallel.relax_cpu_collective_timeouts()
  flags = os.environ["XLA_FLAGS"].split()
  assert flags[:2] == ["--xla_dump_to=/tmp/x", f"--{name}=7"]
  assert flags[2:] == ["--xla_cpu_collective_call_warn_stuck_timeout_seconds=120"]
  monkeypatch.delenv("XLA_FLAGS")
  parallel.relax_cpu_collective_timeouts()
  assert os.environ["XLA_FLAGS"].split() == [
      f"--{k}={v}" for k, v in parallel.CPU_COLLECTIVE_TIMEOUTS.items()]
