"""Streaming input: each step's batch read from a random-access source (`jaxgan.data.sources`) by grain
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

from jaxgan.data import batches as data_lib

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
