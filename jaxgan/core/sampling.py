"""Sampling a generator: fixed inputs, the BatchNorm sampling modes, chosen classes and latent walks.

A BatchNorm generator can be sampled three ways (config.sampling):
- "running": eval mode with the running statistics kept during training. With EMA weights these are
  the raw generator's statistics, which the averaged weights never produced.
- "standing": eval mode with statistics recomputed for the sampling weights themselves, as the mean
  of the batch statistics of a few train-mode batches (BigGAN's "standing statistics").
- "batch": train mode, each chunk of samples normalised by its own statistics.
A generator without BatchNorm gives the same images in all three.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxgan import rng
from jaxgan.core.gan import GANSpec, sample_noise
from jaxgan.core.state import GANState
from jaxgan.data import batches as data_lib
from jaxgan.errors import ConfigError
from jaxgan.models.layers import BatchNorm

SAMPLING_MODES = ("running", "standing", "batch")
GRID_ROWS = 8  # Rows of a training grid, of `grid_columns` samples each.
CHUNK = 1000  # Samples drawn per call (and the batch of the "batch" mode).
STANDING_CHUNKS = 4  # Train-mode batches of CHUNK samples that standing statistics average.


def grid_columns(spec: GANSpec) -> int:
  """Columns of a sample grid: one per class for a class-conditional GAN (its samples cycle through
  the classes, so each column shows one class), else 8."""
  return spec.label_classes if spec.class_conditional else 8


def cycling_labels(num_classes: int, num: int) -> jax.Array | None:
  """labels_N = 0, 1, ..., num_classes - 1, 0, 1, ... (None for an unconditional GAN)."""
  return jnp.arange(num, dtype=jnp.int32) % num_classes if num_classes else None


# The golden ratio's fractional part: i * it mod 1 spreads any prefix of i = 0, 1, ... evenly over [0, 1).
_GOLDEN = 0.6180339887498949


def _spread_N(num: int) -> np.ndarray:
  """u_N in [0, 1): i * golden ratio mod 1, evenly spread over [0, 1) in any prefix."""
  return np.mod(np.arange(num) * _GOLDEN, 1.0)


def model_labels(spec: GANSpec, classes_N) -> jax.Array:
  """labels_N the generator takes for the dataset classes `classes_N`: the classes themselves or,
  with sub-clusters, one of each class's sub-clusters drawn in proportion to its size (deterministic
  in the position, and close to the sizes in any prefix of a class's samples)."""
  classes_N = np.asarray(classes_N, np.int32)
  if not spec.subclusters:
    return jnp.asarray(classes_N)
  prior_CxK = np.asarray(spec.label_prior).reshape(-1, spec.subclusters)
  cdf_CxK = np.cumsum(prior_CxK, axis=1) / prior_CxK.sum(axis=1, keepdims=True)
  sub_N = np.sum(cdf_CxK[classes_N] <= _spread_N(len(classes_N))[:, None], axis=1)
  return jnp.asarray(classes_N * spec.subclusters + np.minimum(sub_N, spec.subclusters - 1),
                     jnp.int32)


def sampling_labels(spec: GANSpec, num: int) -> jax.Array | None:
  """labels_N to sample with: the classes in turn (each drawing its sub-clusters by their sizes)
  or, for self-conditioning clusters, each cluster in proportion to its share of the training data
  (deterministic, and close to it in any prefix)."""
  if spec.class_conditional:
    return model_labels(spec, np.arange(num) % spec.label_classes)
  if spec.label_prior is None:
    return None
  labels_N = np.searchsorted(np.cumsum(spec.label_prior), _spread_N(num), side="right")
  return jnp.asarray(np.minimum(labels_N, spec.num_classes - 1), jnp.int32)


def check_truncation(truncation: float) -> None:
  """Raises ConfigError unless `truncation` is 0 (off) or a positive bound."""
  if not truncation >= 0:
    raise ConfigError(f"--truncation: got {truncation}, expected 0 (off) or a positive bound such "
                      "as 0.7 on each latent coordinate")


def latents(spec: GANSpec, key: jax.Array, num: int, truncation: float = 0.0) -> jax.Array:
  """z_NxZ to sample from: `sample_noise`, or with `truncation` > 0 the truncation trick (BigGAN):
  N(0, I) with every coordinate outside [-truncation, truncation] resampled, which trades diversity
  for fidelity as the bound shrinks."""
  check_truncation(truncation)
  if not truncation:
    return sample_noise(spec, key, num)
  return jax.random.truncated_normal(key, -truncation, truncation, (num, spec.latent_dim),
                                     jnp.float32)


def fixed_inputs(spec: GANSpec, key: jax.Array, num: int,
                 truncation: float = 0.0) -> tuple[jax.Array, jax.Array | None]:
  """(z_NxZ, labels_N) to sample from: `latents` from `key`, labels from `sampling_labels`."""
  return latents(spec, key, num, truncation), sampling_labels(spec, num)


@functools.partial(jax.jit, static_argnames=("spec", "chunk"))
def _batch_stats_of_chunk(spec: GANSpec, g_params, g_batch_stats, key, *, chunk: int):
  generator = nnx.merge(spec.g_graphdef, g_params, g_batch_stats)
  for _, module in nnx.iter_modules(generator):
    if isinstance(module, BatchNorm):
      module.momentum = 1.0  # The update then stores this batch's statistics.
  generator(*fixed_inputs(spec, key, chunk), train=True)
  return nnx.state(generator, nnx.BatchStat).to_pure_dict()


def standing_stats(spec: GANSpec, g_params, g_batch_stats, key: jax.Array, *,
                   num_chunks: int = STANDING_CHUNKS, chunk: int = CHUNK):
  """BatchNorm statistics of `g_params` themselves: the mean over `num_chunks` train-mode batches of
  `chunk` samples (noise from `key`) of their batch statistics (unbiased variance, as PyTorch)."""
  stats = [_batch_stats_of_chunk(spec, g_params, g_batch_stats, jax.random.fold_in(key, i),
                                 chunk=chunk) for i in range(num_chunks)]
  return jax.tree.map(lambda *x: sum(x) / len(x), *stats)


@functools.partial(jax.jit, static_argnames=("spec", "mode"))
def _sample(spec: GANSpec, g_params, g_batch_stats, z_BxZ, labels_B, *, mode: str):
  images, _ = spec.generate(g_params, g_batch_stats, z_BxZ, labels_B, train=mode == "batch")
  return data_lib.to_uint8(images, spec.value_range)


def generate(spec: GANSpec, state: GANState, z_NxZ: jax.Array, labels_N: jax.Array | None, *,
             mode: str, seed: int = 0, chunk: int = CHUNK) -> np.ndarray:
  """uint8 images_NxHxWxC of the state's sampling (EMA) weights for the given inputs.

  `mode` is one of SAMPLING_MODES; "standing" statistics are drawn from the STANDING stream of
  `seed`, so the same state, inputs and seed give the same bytes.
  """
  if mode not in SAMPLING_MODES:
    raise ConfigError(f"sampling mode: got {mode!r}, expected one of {', '.join(SAMPLING_MODES)}")
  g_params, g_batch_stats = state.sampling_params(), state.g_batch_stats
  if mode == "standing" and jax.tree.leaves(g_batch_stats):
    g_batch_stats = standing_stats(spec, g_params, g_batch_stats, rng.stream_key(seed, rng.STANDING))
  images = []
  for start in range(0, z_NxZ.shape[0], chunk):
    labels = None if labels_N is None else labels_N[start:start + chunk]
    images.append(jax.device_get(_sample(spec, g_params, g_batch_stats, z_NxZ[start:start + chunk],
                                         labels, mode=mode)))
  return np.concatenate(images)


def sample_images(spec: GANSpec, state: GANState, key: jax.Array, num: int, *, mode: str,
                  seed: int = 0, chunk: int = CHUNK, truncation: float = 0.0) -> np.ndarray:
  """`num` uint8 images_NxHxWxC of `fixed_inputs(spec, key, num, truncation)`; a pure function of
  its arguments."""
  return generate(spec, state, *fixed_inputs(spec, key, num, truncation), mode=mode, seed=seed,
                  chunk=chunk)


@dataclasses.dataclass(frozen=True)
class Sampler:
  """How a run draws its samples: its GAN, the BatchNorm `mode`, the `seed` of its standing
  statistics and grid noise, and the latents' `truncation` (0: none). Grids, evaluation, `generate`
  and `evaluate` all sample through one."""
  spec: GANSpec
  mode: str
  seed: int = 0
  truncation: float = 0.0

  def __call__(self, state: GANState, key: jax.Array, num: int) -> np.ndarray:
    """`num` uint8 images_NxHxWxC of `fixed_inputs(spec, key, num, truncation)`."""
    return sample_images(self.spec, state, key, num, mode=self.mode, seed=self.seed,
                         truncation=self.truncation)

  def grid(self, state: GANState) -> np.ndarray:
    """GRID_ROWS rows of `grid_columns` samples of the run's fixed grid noise (the SAMPLE stream of
    `seed`)."""
    return self(state, rng.stream_key(self.seed, rng.SAMPLE), GRID_ROWS * grid_columns(self.spec))


def slerp(z0_Z: jax.Array, z1_Z: jax.Array, t_T: jax.Array) -> jax.Array:
  """Spherical interpolation z_TxZ from z0 (t = 0) to z1 (t = 1), exact at both ends.

  Follows the great circle between the two directions while the norm moves linearly, so every
  point stays at the typical radius of N(0, I) noise (a straight line dips towards the origin).
  Nearly parallel endpoints fall back to the straight line.
  """
  z0_Z, z1_Z = jnp.asarray(z0_Z, jnp.float32), jnp.asarray(z1_Z, jnp.float32)
  t_Tx1 = jnp.asarray(t_T, jnp.float32)[:, None]
  cos_omega = jnp.dot(z0_Z, z1_Z) / (jnp.linalg.norm(z0_Z) * jnp.linalg.norm(z1_Z))
  omega = jnp.arccos(jnp.clip(cos_omega, -1.0, 1.0))
  sin_omega = jnp.sin(omega)
  parallel = sin_omega < 1e-6
  safe_sin = jnp.where(parallel, 1.0, sin_omega)
  w0_Tx1 = jnp.where(parallel, 1.0 - t_Tx1, jnp.sin((1.0 - t_Tx1) * omega) / safe_sin)
  w1_Tx1 = jnp.where(parallel, t_Tx1, jnp.sin(t_Tx1 * omega) / safe_sin)
  z_TxZ = w0_Tx1 * z0_Z[None, :] + w1_Tx1 * z1_Z[None, :]
  # Exact ends: the weights there are 1 and 0 only up to rounding.
  return jnp.where(t_Tx1 == 0.0, z0_Z[None, :], jnp.where(t_Tx1 == 1.0, z1_Z[None, :], z_TxZ))


def check_label(spec: GANSpec, label: int | None) -> None:
  """Raises ConfigError unless `label` is None or a class of the (conditional) generator."""
  if label is None:
    return
  if not spec.num_classes:
    raise ConfigError(f"--label={label}: the run's generator is not class-conditional (train it "
                      "with --config=experiments/configs/cgan.py or --config.model.conditional=true)")
  num_labels = spec.label_classes or spec.num_classes
  if not 0 <= label < num_labels:
    what = "class" if spec.class_conditional else "self-conditioning cluster"
    raise ConfigError(f"--label: got {label}, expected a {what} in [0, {num_labels - 1}]")


def _asked_labels(spec: GANSpec, label: int, num: int) -> jax.Array:
  """labels_N the generator takes for `num` samples of class (or cluster) `label`."""
  labels_N = np.full((num,), label, np.int32)
  return model_labels(spec, labels_N) if spec.class_conditional else jnp.asarray(labels_N)


def class_inputs(spec: GANSpec, key: jax.Array, num: int, label: int,
                 truncation: float = 0.0) -> tuple[jax.Array, jax.Array]:
  """(z_NxZ, labels_N): `latents` from `key`, every sample of class `label`."""
  check_label(spec, label)
  return latents(spec, key, num, truncation), _asked_labels(spec, label, num)


def asked_inputs(spec: GANSpec, key: jax.Array, num: int, label: int | None = None,
                 truncation: float = 0.0) -> tuple[jax.Array, jax.Array | None]:
  """(z_NxZ, labels_N) of `num` samples: `class_inputs` of class `label`, else `fixed_inputs`."""
  if label is None:
    return fixed_inputs(spec, key, num, truncation)
  return class_inputs(spec, key, num, label, truncation)


def walk_inputs(spec: GANSpec, key: jax.Array, num_frames: int,
                label: int | None = None) -> tuple[jax.Array, jax.Array | None]:
  """(z_TxZ, labels_T) of a walk along the great circle between two random latents.

  The two latents are `sample_noise(spec, key, 2)`: frame 0 is exactly the first and frame T-1 the
  second. A conditional generator keeps one label along the walk: of class `label`, else of a class
  drawn from `fold_in(key, 1)`.
  """
  if num_frames < 2:
    raise ConfigError(f"--num: a latent walk needs at least 2 frames, got {num_frames}")
  check_label(spec, label)
  z_2xZ = sample_noise(spec, key, 2)
  z_TxZ = slerp(z_2xZ[0], z_2xZ[1], jnp.linspace(0.0, 1.0, num_frames))
  if not spec.num_classes:
    return z_TxZ, None
  if label is None:
    label = int(jax.random.randint(jax.random.fold_in(key, 1), (), 0,
                                   spec.label_classes or spec.num_classes))
  return z_TxZ, jnp.full((num_frames,), _asked_labels(spec, label, 1)[0], jnp.int32)
