"""Datasets on the device: epoch orders, batch gathering, pixel ranges (`jaxgan.data.splits` loads
the arrays)."""

import jax
import jax.numpy as jnp

RANGES = ("unit", "symmetric")
PIPELINES = ("auto", "resident", "stream")  # config.data.pipeline (`jaxgan.data.train_set`)


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
  """Full batches per epoch (drop_last): 937 for MNIST at batch 64."""
  return num_examples // batch_size


def epoch_permutation(key: jax.Array, epoch: jax.Array | int, num_examples: int) -> jax.Array:
  """The example order of one epoch, a pure function of (key, epoch)."""
  return jax.random.permutation(jax.random.fold_in(key, epoch), num_examples)


def epoch_orders(key: jax.Array, epoch: jax.Array | int, num_examples: int) -> jax.Array:
  """orders_2xN: the example orders of `epoch` and of the next one, which a fused call may reach."""
  return jnp.stack([epoch_permutation(key, epoch, num_examples),
                    epoch_permutation(key, epoch + 1, num_examples)])


def gather_batch(images_NxHxWxC: jax.Array, labels_N: jax.Array, perm_N: jax.Array,
                 step_in_epoch: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
  """Batch `step_in_epoch` of the epoch ordered by `perm_N`, gathered on the device (jit-friendly).

  Returns:
    (images_BxHxWxC uint8, labels_B int32).
  """
  idx_B = jax.lax.dynamic_slice_in_dim(perm_N, step_in_epoch * batch_size, batch_size)
  return images_NxHxWxC[idx_B], labels_N[idx_B]


def to_float(images_uint8: jax.Array, value_range: str) -> jax.Array:
  """uint8 pixels to float32 in [0, 1] ("unit", as ToTensor) or [-1, 1] ("symmetric")."""
  x = images_uint8.astype(jnp.float32) / 255.0
  return x if value_range == "unit" else 2.0 * x - 1.0


def to_uint8(images: jax.Array, value_range: str) -> jax.Array:
  """Inverse of `to_float`, rounding and clipping."""
  x = images if value_range == "unit" else (images + 1.0) / 2.0
  return jnp.clip(jnp.round(x * 255.0), 0, 255).astype(jnp.uint8)
