"""Sampling a trained generator: chosen classes and spherical latent walks."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import train
from jaxgan.errors import ConfigError
from jaxgan.state import GANState


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


def check_label(spec: train.GANSpec, label: int | None) -> None:
  """Raises ConfigError unless `label` is None or a class of the (conditional) generator."""
  if label is None:
    return
  if not spec.num_classes:
    raise ConfigError(f"--label={label}: the run's generator is not class-conditional (train it "
                      "with --config=experiments/configs/cgan.py or --config.model.conditional=true)")
  if not 0 <= label < spec.num_classes:
    raise ConfigError(f"--label: got {label}, expected a class in [0, {spec.num_classes - 1}]")


def generate(spec: train.GANSpec, state: GANState, z_NxZ: jax.Array, labels_N: jax.Array | None,
             chunk: int = 1000) -> np.ndarray:
  """uint8 images_NxHxWxC of the state's sampling weights (eval mode) for the given inputs."""
  sampler = train.make_sampler(spec)
  images = []
  for start in range(0, z_NxZ.shape[0], chunk):
    labels = None if labels_N is None else labels_N[start:start + chunk]
    images.append(jax.device_get(sampler(state.sampling_params(), state.g_batch_stats,
                                         z_NxZ[start:start + chunk], labels)))
  return np.concatenate(images)


def class_inputs(spec: train.GANSpec, key: jax.Array, num: int,
                 label: int) -> tuple[jax.Array, jax.Array]:
  """(z_NxZ, labels_N): noise from `key`, every label `label`."""
  check_label(spec, label)
  return train.sample_noise(spec, key, num), jnp.full((num,), label, jnp.int32)


def walk_inputs(spec: train.GANSpec, key: jax.Array, num_frames: int,
                label: int | None = None) -> tuple[jax.Array, jax.Array | None]:
  """(z_TxZ, labels_T) of a walk along the great circle between two random latents.

  The two latents are `train.sample_noise(spec, key, 2)`: frame 0 is exactly the first and frame
  T-1 the second. A conditional generator keeps one class along the walk: `label`, else a class
  drawn from `fold_in(key, 1)`.
  """
  if num_frames < 2:
    raise ConfigError(f"--num: a latent walk needs at least 2 frames, got {num_frames}")
  check_label(spec, label)
  z_2xZ = train.sample_noise(spec, key, 2)
  z_TxZ = slerp(z_2xZ[0], z_2xZ[1], jnp.linspace(0.0, 1.0, num_frames))
  if not spec.num_classes:
    return z_TxZ, None
  if label is None:
    label = jax.random.randint(jax.random.fold_in(key, 1), (), 0, spec.num_classes)
  return z_TxZ, jnp.full((num_frames,), label, jnp.int32)
