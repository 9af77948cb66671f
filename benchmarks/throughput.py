"""Throughput of the real GAN train step, and how close it runs to the device's matmul peak.

    python -m benchmarks.throughput --config=experiments/configs/mlp_gan.py [--steps=N]
        [--batch_size=B] [--dtype=float32|bfloat16] [--steps_per_call=K] [--num_devices=D]

Times the training code path (device-resident dataset, batch gather inside the jitted step, both
updates, donated state) after compilation and warm-up, under `jax.transfer_guard("disallow")`, and
prints the median over repeats. The last line of output is one JSON object.
"""

import json
import os
import statistics
import time

from absl import app, flags
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", "experiments/configs/mlp_gan.py",
                                          "Training config file.")
_STEPS = flags.DEFINE_integer("steps", 200, "Train steps per timed repeat.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed repeats; the median is reported.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", None, "Overrides config.batch_size.")
_DTYPE = flags.DEFINE_enum("dtype", None, ["float32", "bfloat16"], "Overrides config.dtype.")
_STEPS_PER_CALL = flags.DEFINE_integer("steps_per_call", None,
                                       "Overrides config.steps_per_call (steps fused per call).")
_NUM_DEVICES = flags.DEFINE_integer(
    "num_devices", None, "Devices of the data-parallel mesh; on CPU, this many are simulated.")
_DATA = flags.DEFINE_enum("data", "synthetic", ["synthetic", "config"],
                          "synthetic: random uint8 pixels of MNIST's shape; config: config.data.")
_PEAK_SIZE = flags.DEFINE_integer("peak_size", 2048, "Side of the square matmul timing the peak.")

MNIST_SHAPE = (60000, 28, 28, 1)


def _median_rate(fn, work: float, repeats: int) -> float:
  """Median of work / seconds over `repeats` calls of fn (which must block until done)."""
  rates = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    rates.append(work / (time.perf_counter() - start))
  return statistics.median(rates)


def peak_matmul_gflop_s(size: int, dtype, repeats: int = 5) -> float:
  """GFLOP/s of a large jitted square matmul in `dtype` on the default device."""
  import jax
  a = jax.random.normal(jax.random.PRNGKey(0), (size, size), dtype)
  b = jax.random.normal(jax.random.PRNGKey(1), (size, size), dtype)
  matmul = jax.jit(lambda a, b: a @ b)
  inner = 3
  def run():
    for _ in range(inner):
      out = matmul(a, b)
    out.block_until_ready()
  run()
  return _median_rate(run, inner * 2.0 * size**3 / 1e9, repeats)


def _flops(compiled) -> float:
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return float(cost.get("flops", 0.0))


def _num_labels(config, dataset_classes: int) -> int:
  """The labels G and D are conditioned on: the classes, times their sub-clusters, or the clusters."""
  if config.model.conditional:
    return dataset_classes * max(config.model.clusters, 1)
  return config.model.clusters


def measure(config, *, steps: int, repeats: int, num_devices: int | None = None,
            data: str = "synthetic", peak_size: int = 2048) -> dict:
  """Times the train step of `config`; returns the benchmark record (see module docstring)."""
  import jax
  import numpy as np

  from jaxgan import models, parallel, rng
  from jaxgan.core import gan, step_fns
  from jaxgan.data import batches as data_lib
  from jaxgan.data import splits

  mesh = parallel.make_mesh(num_devices)
  parallel.check_batch_size(config.batch_size, mesh)
  replicated = parallel.replicated(mesh)
  if data == "config":
    images_N, labels_N = splits.load_split(config.data, "train")
  else:
    np_rng = np.random.default_rng(0)
    images_N = np_rng.integers(0, 256, MNIST_SHAPE, dtype=np.uint8)
    labels_N = np_rng.integers(0, 10, MNIST_SHAPE[:1], dtype=np.int32)
  num_examples, batch_size = len(images_N), config.batch_size
  steps_per_epoch = data_lib.steps_per_epoch(num_examples, batch_size)
  k = config.steps_per_call or step_fns.default_steps_per_call(steps_per_epoch)
  num_classes = _num_labels(config, int(labels_N.max()) + 1)
  if config.model.clusters:  # k-means labels: random ones of the same count cost the step the same.
    labels_N = np.random.default_rng(1).integers(0, num_classes, len(images_N), dtype=np.int32)
  state, spec = gan.init_state(config, images_N.shape[1:], num_classes)
  state = jax.device_put(state, replicated)
  images = parallel.put_replicated(mesh, images_N)
  labels = parallel.put_replicated(mesh, labels_N)
  data_key = rng.stream_key(state.key, rng.DATA)
  orders = jax.device_put(data_lib.epoch_orders(data_key, 0, num_examples), replicated)
  train_steps = step_fns.make_train_steps(spec, batch_size, steps_per_epoch,
                                     parallel.batch_sharding(mesh))
  args = (images, labels, orders)
  # From one step: XLA's cost analysis counts a loop body once, whatever its trip count.
  gflop_per_step = _flops(train_steps.lower(state, *args, 1).compile()) / 1e9
  compiled = train_steps.lower(state, *args, k).compile()
  calls = max(1, steps // k)

  def run():
    nonlocal state
    with jax.transfer_guard("disallow"):
      for _ in range(calls):
        state, _ = compiled(state, *args)
    jax.block_until_ready(state)

  run()  # Warm-up: first execution, allocator and thread pools.
  steps_per_s = _median_rate(run, calls * k, repeats)
  peak = peak_matmul_gflop_s(peak_size, models.DTYPES[config.dtype])
  device = jax.devices()[0]
  return dict(
      model=config.model.name, batch_size=batch_size, dtype=config.dtype, steps_per_call=k,
      num_devices=mesh.size, steps_per_s=round(steps_per_s, 2),
      images_per_s=round(steps_per_s * batch_size, 1), gflop_per_step=round(gflop_per_step, 4),
      peak_matmul_gflop_s=round(peak, 1),
      utilization=round(steps_per_s * gflop_per_step / peak, 3),
      device=f"{device.platform}:{device.device_kind}", cpu_count=os.cpu_count())


def main(argv) -> None:
  del argv
  config = _CONFIG.value
  if _BATCH_SIZE.value is not None:
    config.batch_size = _BATCH_SIZE.value
  if _DTYPE.value is not None:
    config.dtype = _DTYPE.value
  if _STEPS_PER_CALL.value is not None:
    config.steps_per_call = _STEPS_PER_CALL.value
  from jaxgan import parallel
  parallel.relax_cpu_collective_timeouts()
  if _NUM_DEVICES.value:
    import jax
    # Simulated CPU devices (they share the host's cores); no effect on accelerator backends.
    jax.config.update("jax_num_cpu_devices", _NUM_DEVICES.value)
  record = measure(config, steps=_STEPS.value, repeats=_REPEATS.value,
                   num_devices=_NUM_DEVICES.value, data=_DATA.value, peak_size=_PEAK_SIZE.value)
  print(json.dumps(record))


if __name__ == "__main__":
  app.run(main)
