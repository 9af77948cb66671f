"""Numpy-only reading of the four MNIST-format IDX .gz files."""

import gzip
import math
import os

import numpy as np

from jaxgan.errors import DataError

IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049
IDX_DIR_ENV = "JAXGAN_MNIST_IDX_DIR"  # The machine's IDX folder when a config or flag leaves it empty.


def resolve_idx_dir(idx_dir: str) -> str:
  """`idx_dir`, else $JAXGAN_MNIST_IDX_DIR (read here, so that no run saves it in its config)."""
  return idx_dir or os.environ.get(IDX_DIR_ENV, "")


def read_idx(path: str, magic: int) -> np.ndarray:
  """The uint8 array of one IDX .gz file whose header has `magic`.

  Raises:
    DataError: the file is missing, not gzip, truncated or not IDX.
  """
  try:
    with gzip.open(path, "rb") as f:
      raw = f.read()
  except FileNotFoundError as e:
    raise DataError(f"IDX file {path} not found") from e
  except (OSError, EOFError) as e:
    raise DataError(f"IDX file {path} is not a readable .gz file: {e}") from e
  found = int.from_bytes(raw[:4], "big")
  if found != magic:
    raise DataError(f"IDX file {path} has magic number {found}, expected {magic}")
  ndim = raw[3]
  shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
  offset = 4 + 4 * ndim
  if len(raw) != offset + math.prod(shape):
    raise DataError(f"IDX file {path} holds {len(raw) - offset} bytes of data, its header says "
                    f"{shape}")
  return np.frombuffer(raw, np.uint8, offset=offset).reshape(shape)


def read_idx_split(idx_dir: str, split: str) -> tuple[np.ndarray, np.ndarray]:
  """Reads one split ("train" or "test") of the four IDX .gz files.

  Returns:
    (images_NxHxWx1 uint8, labels_N int32).

  Raises:
    DataError: a file is missing, not gzip, truncated or not IDX.
  """
  images_name, labels_name = IDX_FILES[split]
  images_NxHxW = read_idx(os.path.join(idx_dir, images_name), _IMAGES_MAGIC)
  labels_N = read_idx(os.path.join(idx_dir, labels_name), _LABELS_MAGIC)
  if len(images_NxHxW) != len(labels_N):
    raise DataError(f"{split} IDX files in {idx_dir} hold {len(images_NxHxW)} images but "
                    f"{len(labels_N)} labels")
  return images_NxHxW[..., None], labels_N.astype(np.int32)
