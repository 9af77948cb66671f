"""Dataset loading: TFDS (offline-capable) and a numpy-only IDX reader."""

import gzip
import os

import jax
import jax.numpy as jnp
import numpy as np

IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _read_idx(path: str, magic: int) -> np.ndarray:
  with gzip.open(path, "rb") as f:
    raw = f.read()
  found = int.from_bytes(raw[:4], "big")
  if found != magic:
    raise ValueError(f"{path}: IDX magic {found}, expected {magic}")
  ndim = raw[3]
  shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
  return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def read_idx_split(idx_dir: str, split: str) -> tuple[np.ndarray, np.ndarray]:
  """Reads one split of the four IDX .gz files.

  Returns:
    (images_NxHxWx1 uint8, labels_N int32).
  """
  images_name, labels_name = IDX_FILES[split]
  images_NxHxW = _read_idx(os.path.join(idx_dir, images_name), 2051)
  labels_N = _read_idx(os.path.join(idx_dir, labels_name), 2049)
  return images_NxHxW[..., None], labels_N.astype(np.int32)


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
  """Full batches per epoch (drop_last): 937 for MNIST at batch 64."""
  return num_examples // batch_size


def epoch_permutation(key: jax.Array, epoch: jax.Array | int, num_examples: int) -> jax.Array:
  """The example order of one epoch, a pure function of (key, epoch)."""
  return jax.random.permutation(jax.random.fold_in(key, epoch), num_examples)


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


def load_split(data_config, split: str) -> tuple[np.ndarray, np.ndarray]:
  """Loads `split` ("train" or "test") of `data_config.dataset` from `data_config.source`.

  Returns:
    (images_NxHxWxC uint8, labels_N int32) as numpy arrays.

  Raises:
    DataError: the data are missing or unreadable (one-line message naming the fix).
  """
  if data_config.source == "idx":
    return read_idx_split(data_config.idx_dir, split)
  raise NotImplementedError("tfds source")
