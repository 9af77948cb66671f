"""Streamed against resident training: train steps per second of one config on its real data.

    python -m benchmarks.streaming --config=experiments/configs/dcgan.py [--steps=N] [--repeats=R]

Builds both step functions of `jaxgan.data.train_set` (the resident one gathers each batch on the
device; the streamed one reads it through grain from `tfds.data_source`, or the config's source)
and times `--steps` steps of each after a warm-up, alternating the two, and prints the median
rates and their ratio. It also times the input pipeline alone (batches per second, no training).
The last line of output is one JSON object.
"""

import json
import statistics
import time

import jax
from absl import app, flags
from ml_collections import config_flags

from jaxgan import parallel
from jaxgan.core import gan, step_fns
from jaxgan.data import streaming, train_set

_CONFIG = config_flags.DEFINE_config_file("config", "experiments/configs/dcgan.py",
                                          "Training config file.")
_STEPS = flags.DEFINE_integer("steps", 100, "Train steps per timed repeat.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed repeats of each path; medians are reported.")


def _timed_rate(step_fn, state, start: int, steps: int):
  """(state, steps per second) of `steps` single steps from `start`."""
  begin = time.perf_counter()
  for step in range(start, start + steps):
    state, _ = step_fn(state, step, 1)
  jax.block_until_ready(state)
  return state, steps / (time.perf_counter() - begin)


def main(argv):
  del argv
  config = _CONFIG.value
  steps, repeats = _STEPS.value, _REPEATS.value
  total = (repeats + 1) * steps
  mesh = parallel.make_mesh()
  config.data.pipeline = "resident"
  resident = train_set.load(config)
  config.data.pipeline = "stream"
  streamed = train_set.load(config)
  rates = {"resident": [], "stream": []}
  states, step_fn_of = {}, {}
  for name, data in (("resident", resident), ("stream", streamed)):
    state, spec = gan.init_state_compiled(config, data.image_shape, data.num_classes,
                                          parallel.replicated(mesh), label_prior=data.label_prior)
    step_fn_of[name] = step_fns.make_step_fn(data, spec, mesh, config, state, 0, total)
    states[name], _ = _timed_rate(step_fn_of[name], state, 0, steps)  # Compiles; warms up.
  for repeat in range(1, repeats + 1):
    for name in rates:
      states[name], rate = _timed_rate(step_fn_of[name], states[name], repeat * steps, steps)
      rates[name].append(rate)
  key = jax.random.PRNGKey(config.seed)
  batches = streaming.step_batches(
      streamed.source, streaming.EpochOrders(key, len(streamed.source)), config.batch_size, 0,
      total, slice(None), streamed.label_fn, config.data.stream_threads)
  next(batches)
  begin = time.perf_counter()
  for _ in range(total - 1):
    next(batches)
  pipeline_rate = (total - 1) / (time.perf_counter() - begin)
  result = dict(resident_steps_per_s=statistics.median(rates["resident"]),
                stream_steps_per_s=statistics.median(rates["stream"]),
                pipeline_batches_per_s=pipeline_rate, batch_size=config.batch_size,
                steps=steps, repeats=repeats, device=jax.devices()[0].device_kind)
  result["stream_over_resident"] = result["stream_steps_per_s"] / result["resident_steps_per_s"]
  print(f"resident {result['resident_steps_per_s']:.1f} steps/s, streamed "
        f"{result['stream_steps_per_s']:.1f} ({result['stream_over_resident']:.2f}x); input "
        f"pipeline alone {pipeline_rate:.0f} batches/s of {config.batch_size}")
  print(json.dumps(result))


if __name__ == "__main__":
  app.run(main)
