"""Streaming input: each step's batch read from a random-access source (`jaxgan.sources`) by grain
threads ahead of the training step, for a dataset over the resident budget (`training_data`).

Step s trains on the same examples as on the resident path: positions [p*B, (p+1)*B) of the
order `data.epoch_permutation(data key, s // steps_per_epoch)`, p = s % steps_per_epoch, so a
batch is a pure function of (seed, step), whichever path reads it.
"""

import threading
from collections.abc import Callable, Iterator

import grain
import jax
import numpy as np

from jaxgan import data as data_lib
from jaxgan import gan, parallel, rng
from jaxgan.state import GANState

# Batches decoded ahead of the training step, by this many threads.
PREFETCH_BATCHES = 16


class EpochOrders:
  """`orders(epoch) -> perm_N`: each epoch's example order, drawn once on the host (the two latest
  kept, as grain's threads read ahead into the next epoch)."""

  def __init__(self, data_key: jax.Array, num_examples: int):
    self._key, self._num_examples = data_key, num_examples
    self._perms: dict[int, np.ndarray] = {}
    self._lock = threading.Lock()

  def __call__(self, epoch: int) -> np.ndarray:
    with self._lock:
      if epoch not in self._perms:
        self._perms = {e: p for e, p in self._perms.items() if e == epoch - 1}
        self._perms[epoch] = np.asarray(
            data_lib.epoch_permutation(self._key, epoch, self._num_examples))
      return self._perms[epoch]


def step_batches(source, orders: EpochOrders, batch_size: int, start_step: int, total_steps: int,
                 rows: slice, label_fn: Callable, num_threads: int) -> Iterator[tuple]:
  """(step, images_bxHxWxC uint8, labels_b int32) for steps [start_step, total_steps) in order:
  the `rows` of each step's batch (a process's share), labelled by `label_fn(images, labels)`."""
  steps_per_epoch = data_lib.steps_per_epoch(len(source), batch_size)

  def read(step: int):
    epoch, position = divmod(step, steps_per_epoch)
    idx_B = orders(epoch)[position * batch_size:(position + 1) * batch_size]
    images, labels = source.read(idx_B[rows])
    return step, images, label_fn(images, labels)

  dataset = grain.MapDataset.range(start_step, total_steps).map(read)
  options = grain.ReadOptions(num_threads=num_threads, prefetch_buffer_size=PREFETCH_BATCHES)
  return iter(dataset.to_iter_dataset(options))


def make_step_fn(spec: gan.GANSpec, mesh, source, label_fn: Callable, batch_size: int,
                 state: GANState, start_step: int, total_steps: int, num_threads: int):
  """`step_fn(state, step, k) -> (state, metrics_K)` (as `loop`'s resident one) on batches streamed
  from `source`; each process reads its own rows of every batch."""
  processes, index = jax.process_count(), jax.process_index()
  rows = slice(index * batch_size // processes, (index + 1) * batch_size // processes)
  data_key = rng.stream_key(np.asarray(state.key.addressable_data(0)), rng.DATA)
  batches = step_batches(source, EpochOrders(data_key, len(source)), batch_size, start_step,
                         total_steps, rows, label_fn, num_threads)
  train_steps = gan.make_batch_train_steps(spec, parallel.batch_sharding(mesh))
  sharding = parallel.stacked_batch_sharding(mesh)

  def step_fn(state: GANState, step: int, k: int):
    read = [next(batches) for _ in range(k)]
    if read[0][0] != step:
      raise RuntimeError(f"the input stream is at step {read[0][0]}, the training at {step}")
    images_KxbxHxWxC = np.stack([images for _, images, _ in read])
    labels_Kxb = np.stack([labels for _, _, labels in read])
    images, labels = (jax.make_array_from_process_local_data(
        sharding, x, (k, batch_size, *x.shape[2:])) for x in (images_KxbxHxWxC, labels_Kxb))
    return train_steps(state, images, labels)

  return step_fn
