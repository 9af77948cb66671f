"""The jitted training steps and the step functions the loop calls: on the resident dataset, its
batches gathered on the device, or on batches streamed from the host (`jaxgan.data.streaming`)."""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import parallel, rng
from jaxgan.core.gan import GANSpec, gan_update, sample_noise
from jaxgan.core.state import GANState
from jaxgan.data import batches as data_lib
from jaxgan.data import streaming

# Steps per call on accelerators, where one step of a small model takes less time than a host round
# trip; on CPU a step takes milliseconds, and fused calls measured no consistent gain
# (benchmarks/README.md).
ACCELERATOR_STEPS_PER_CALL = 50


def default_steps_per_call(steps_per_epoch: int) -> int:
  """config.steps_per_call = 0: 1 on CPU, else ACCELERATOR_STEPS_PER_CALL (at most an epoch)."""
  if jax.default_backend() == "cpu":
    return 1
  return min(ACCELERATOR_STEPS_PER_CALL, steps_per_epoch)


def _update_on_batch(spec: GANSpec, state: GANState, images_BxHxWxC, labels_B, batch_sharding):
  """gan_update on one gathered uint8 batch, with the noise of step `state.step`."""
  if batch_sharding is not None:
    images_BxHxWxC, labels_B = jax.lax.with_sharding_constraint((images_BxHxWxC, labels_B),
                                                                batch_sharding)
  real = data_lib.to_float(images_BxHxWxC, spec.value_range)
  noise_key = jax.random.fold_in(rng.stream_key(state.key, rng.NOISE), state.step)
  z_BxZ = sample_noise(spec, noise_key, images_BxHxWxC.shape[0])
  return gan_update(spec, state, real, labels_B if spec.num_classes else None, z_BxZ)


def _steps_on_batches(spec: GANSpec, batch_sharding):
  """`(state, images_KxBxHxWxC, labels_KxB) -> (state, metrics_K)`: one train step per batch, in a
  `lax.scan` when K > 1 (not a scan of one: XLA's CPU backend runs convolutions in a loop body ~6x
  slower)."""

  def one_step(state: GANState, batch):
    return _update_on_batch(spec, state, *batch, batch_sharding)

  def steps(state: GANState, images_KxBxHxWxC, labels_KxB):
    if images_KxBxHxWxC.shape[0] == 1:
      state, metrics = one_step(state, (images_KxBxHxWxC[0], labels_KxB[0]))
      return state, jax.tree.map(lambda m: m[None], metrics)
    return jax.lax.scan(one_step, state, (images_KxBxHxWxC, labels_KxB))

  return steps


def make_train_steps(spec: GANSpec, batch_size: int, steps_per_epoch: int, batch_sharding=None):
  """The jitted `train_steps(state, images_NxHxWxC, labels_N, orders_2xN, k) -> (state, metrics_K)`.

  `k` (static, 1 to steps_per_epoch) train steps on the resident dataset, the state donated and the
  metrics stacked along a leading axis of k. Step s trains on the batch at position
  s % steps_per_epoch of its epoch's order: `orders_2xN[0]` for the epoch of the call's first step,
  `orders_2xN[1]` for the next one (`data.epoch_orders`), gathered on the device; its noise is drawn
  from fold_in(noise stream, s). With `batch_sharding`, each batch is sharded along the mesh's data
  axis.
  """
  steps = _steps_on_batches(spec, batch_sharding)

  def train_steps(state: GANState, images_NxHxWxC, labels_N, orders_2xN, k: int):
    if not 1 <= k <= steps_per_epoch:
      raise ValueError(f"steps_per_call must be in [1, {steps_per_epoch}], got {k}")
    first_epoch = state.step // steps_per_epoch

    def gather(step):
      epoch, step_in_epoch = jnp.divmod(step, steps_per_epoch)
      return data_lib.gather_batch(images_NxHxWxC, labels_N, orders_2xN[epoch - first_epoch],
                                   step_in_epoch, batch_size)

    images_KxBxHxWxC, labels_KxB = jax.vmap(gather)(state.step + jnp.arange(k))
    return steps(state, images_KxBxHxWxC, labels_KxB)

  return jax.jit(train_steps, static_argnums=4, donate_argnums=0)


def make_batch_train_steps(spec: GANSpec, batch_sharding=None):
  """The jitted `train_steps(state, images_KxBxHxWxC, labels_KxB) -> (state, metrics_K)`: K train
  steps on batches fed from the host (`jaxgan.streaming`), otherwise as `make_train_steps`."""
  return jax.jit(_steps_on_batches(spec, batch_sharding), donate_argnums=0)


def make_step_fn(data, spec: GANSpec, mesh, config, state: GANState,
                 start_step: int, total_steps: int):
  """`step_fn(state, step, k) -> (state, metrics_K)`: train steps [step, step + k) (`step` =
  state.step, a host int) on `data` (a `jaxgan.data.train_set.TrainingData`): its resident arrays
  or its stream."""
  if data.arrays is None:
    return _streamed_step_fn(spec, mesh, data.source, data.label_fn, config.batch_size, state,
                             start_step, total_steps, config.data.stream_threads)
  return _resident_step_fn(spec, mesh, *data.arrays, config.batch_size)


def _resident_step_fn(spec: GANSpec, mesh, images_NxHxWxC: np.ndarray, labels_N: np.ndarray,
                      batch_size: int):
  """The resident `step_fn`: the dataset is put on the devices once (`make_train_steps`), each
  epoch's orders are drawn on the device once, and nothing crosses to or from the host per call
  (`jax.transfer_guard`)."""
  num_examples = len(images_NxHxWxC)
  steps_per_epoch = data_lib.steps_per_epoch(num_examples, batch_size)
  images = parallel.put_replicated(mesh, images_NxHxWxC)
  labels = parallel.put_replicated(mesh, labels_N)
  train_steps = make_train_steps(spec, batch_size, steps_per_epoch,
                                     parallel.batch_sharding(mesh))
  epoch_orders = jax.jit(
      lambda key, epoch: data_lib.epoch_orders(rng.stream_key(key, rng.DATA), epoch, num_examples),
      out_shardings=parallel.replicated(mesh))
  orders = {}  # The current epoch's orders_2xN.

  def step_fn(state: GANState, step: int, k: int):
    epoch = step // steps_per_epoch
    if epoch not in orders:
      orders.clear()
      orders[epoch] = epoch_orders(state.key, epoch)
    with jax.transfer_guard("disallow"):
      return train_steps(state, images, labels, orders[epoch], k)

  return step_fn


def _streamed_step_fn(spec: GANSpec, mesh, source, label_fn: Callable, batch_size: int,
                 state: GANState, start_step: int, total_steps: int, num_threads: int):
  """`step_fn(state, step, k) -> (state, metrics_K)` (as `loop`'s resident one) on batches streamed
  from `source`; each process reads its own rows of every batch."""
  processes, index = jax.process_count(), jax.process_index()
  rows = slice(index * batch_size // processes, (index + 1) * batch_size // processes)
  data_key = rng.stream_key(np.asarray(state.key.addressable_data(0)), rng.DATA)
  batches = streaming.step_batches(source, streaming.EpochOrders(data_key, len(source)), batch_size, start_step,
                         total_steps, rows, label_fn, num_threads)
  train_steps = make_batch_train_steps(spec, parallel.batch_sharding(mesh))
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
