"""Images -> Inception pool features and logits, with clean-fid's preprocessing; image sources.

Preprocessing (clean-fid's "clean" mode): each channel of the image, as float32 in [0, 255] and with
no quantisation, is resized to 299x299 by PIL's bicubic filter in mode "F", clipped to [0, 255] and
divided by 255; a grey image is resized once and repeated to 3 channels. The network then maps
[0, 1] to [-1, 1] as pytorch-fid does. Images are uint8 in [0, 255] or floats in [0, 1], HxW,
HxWx1, HxWx3 or HxWx4 (alpha dropped), any size.

Sources: a folder of PNG/JPEG files (searched recursively, in sorted path order) or a .npy array
(uint8 NxHxWxC or NxHxW; float in [0, 1] also taken), each with a sha256 of its content.
"""

import dataclasses
import functools
import hashlib
import logging
import os
import pathlib
import time
from collections.abc import Iterable, Iterator

import jax
import numpy as np
from PIL import Image

from jaxgan.errors import DataError
from jaxgan.evaluation.inception import convert, model, weights

PREPROCESSING = "clean-fid PIL bicubic float32 299, v1"  # Part of every cached statistics' key.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
_log = logging.getLogger("jaxgan")


def _as_float255(img: np.ndarray) -> np.ndarray:
  """float32 HxWxC in [0, 255] (C = 1 or 3) from a uint8 or [0, 1] float image."""
  img = np.asarray(img)
  if img.ndim == 2:
    img = img[:, :, None]
  if img.ndim != 3 or img.shape[-1] not in (1, 3, 4):
    raise DataError(f"an image must be HxW or HxWxC with C = 1, 3 or 4, got shape {img.shape}")
  if img.shape[-1] == 4:
    img = img[:, :, :3]
  if img.dtype == np.uint8:
    return img.astype(np.float32)
  if np.issubdtype(img.dtype, np.floating):
    low, high = float(np.min(img)), float(np.max(img))
    if low < -1e-3 or high > 1 + 1e-3:
      raise DataError(f"float images must be in [0, 1], got values in [{low:.3g}, {high:.3g}] "
                      "(map [-1, 1] images with (x + 1) / 2)")
    return img.astype(np.float32) * np.float32(255.0)
  raise DataError(f"images must be uint8 or float in [0, 1], got {img.dtype}")


def _resize_channel(channel_HxW: np.ndarray, size: int) -> np.ndarray:
  if channel_HxW.shape == (size, size):  # PIL returns a copy at the same size; so do we.
    return channel_HxW.copy()
  channel = Image.fromarray(np.asarray(channel_HxW, np.float32))  # Mode "F": 32-bit float.
  assert channel.mode == "F", channel.mode
  return np.asarray(channel.resize((size, size), resample=Image.BICUBIC), np.float32)


def preprocess(img: np.ndarray, size: int = model.IMAGE_SIZE) -> np.ndarray:
  """One image -> float32 size x size x 3 in [0, 1] (clean-fid's resize, see the module doc)."""
  img = _as_float255(img)
  channels = [_resize_channel(np.ascontiguousarray(img[:, :, c]), size)
              for c in range(img.shape[-1])]
  out = np.stack(channels * 3 if len(channels) == 1 else channels, axis=-1)
  return np.clip(out, 0.0, 255.0) / np.float32(255.0)


class Extractor:
  """Batched, jitted Inception: images -> (pool_Nx2048, logits_Nx1008), float32 numpy.

  `logits` is the fc layer with its bias; `fc_bias` is that bias (the Inception Score takes the
  logits without it, see `metrics.inception_score`).
  """

  def __init__(self, params: dict, batch_stats: dict, *, batch_size: int = 50):
    if batch_size < 1:
      raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    graphdef, param_state, stat_state = convert.to_states(params, batch_stats)
    self.params, self.batch_stats = jax.device_put((param_state, stat_state))
    self.fc_bias = np.asarray(params["fc"]["bias"], np.float32)
    self.batch_size = batch_size
    self._apply = jax.jit(functools.partial(model.apply, graphdef))

  @classmethod
  def load(cls, path: str | os.PathLike | None = None, *, batch_size: int = 50,
           **load_kwargs) -> "Extractor":
    """With pytorch-fid's weights from `weights.load(path, **load_kwargs)`."""
    return cls(*weights.load(path, **load_kwargs), batch_size=batch_size)

  def run_batch(self, batch_Bx299x299x3: np.ndarray) -> tuple[jax.Array, jax.Array]:
    """The network on one preprocessed batch (asynchronous: returns device arrays)."""
    return self._apply(self.params, self.batch_stats, batch_Bx299x299x3)

  def __call__(self, images: Iterable[np.ndarray], num: int | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Features of `images` (an NxHxW[xC] array or any iterable of single images).

    Every batch has `batch_size` rows (the last one is zero-padded), so the network compiles once;
    an array of fewer images is one batch of its own size. `num`, if known, is only for the
    progress log.
    """
    if isinstance(images, np.ndarray) and images.ndim not in (3, 4):
      raise DataError(f"expected a batch of images, NxHxW or NxHxWxC, got shape {images.shape}")
    size = model.IMAGE_SIZE
    rows = min(self.batch_size, len(images)) if isinstance(images, np.ndarray) else self.batch_size
    outputs, count, last_log = [], 0, time.monotonic()
    batch = np.zeros((max(rows, 1), size, size, 3), np.float32)
    filled = 0
    for img in images:
      batch[filled] = preprocess(img, size)
      filled += 1
      if filled == rows:
        outputs.append((self.run_batch(batch), filled))
        batch, filled = np.zeros_like(batch), 0  # A new buffer: the last one may still be in use.
      count += 1
      if time.monotonic() - last_log > 30:
        _log.info("inception features: %d%s images", count, f"/{num}" if num else "")
        last_log = time.monotonic()
    if filled:
      outputs.append((self.run_batch(batch), filled))
    if not outputs:
      raise DataError("no images to compute Inception features of")
    pool = np.concatenate([np.asarray(pool_b)[:n] for (pool_b, _), n in outputs])
    logits = np.concatenate([np.asarray(logits_b)[:n] for (_, logits_b), n in outputs])
    return pool, logits


# ---------------------------------------------------------------------------------------------
# Image sources: a folder or a .npy file.

@dataclasses.dataclass
class Source:
  """A set of images on disk: `path`, its `kind` ("folder" or "npy") and its image `num`."""
  path: pathlib.Path
  kind: str
  num: int
  files: tuple[pathlib.Path, ...] = ()

  def images(self) -> Iterator[np.ndarray]:
    """The images, one HxW[xC] array at a time (uint8, or float in [0, 1] for a float .npy)."""
    if self.kind == "npy":
      array = _load_npy(self.path)
      for i in range(array.shape[0]):
        yield np.asarray(array[i])
      return
    for file in self.files:
      yield _read_image(file)

  def content_hash(self) -> str:
    """sha256 of the images' bytes: the .npy file, or each file's relative path and bytes."""
    digest = hashlib.sha256()
    if self.kind == "npy":
      _hash_file(digest, self.path)
    else:
      for file in self.files:
        digest.update(file.relative_to(self.path).as_posix().encode() + b"\0")
        _hash_file(digest, file)
    return digest.hexdigest()


def _hash_file(digest, path: pathlib.Path) -> None:
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)


def _read_image(path: pathlib.Path) -> np.ndarray:
  try:
    with Image.open(path) as img:
      if img.mode not in ("L", "RGB"):
        img = img.convert("RGB")
      return np.asarray(img)
  except (OSError, ValueError, Image.DecompressionBombError) as e:
    raise DataError(f"{path}: cannot read the image: {e}") from e


def _load_npy(path: pathlib.Path) -> np.ndarray:
  try:
    array = np.load(path, mmap_mode="r", allow_pickle=False)
  except (OSError, ValueError) as e:
    raise DataError(f"{path}: cannot read the .npy file: {str(e).splitlines()[0]}") from e
  shape_ok = array.ndim == 3 or (array.ndim == 4 and array.shape[-1] in (1, 3, 4))
  dtype_ok = array.dtype == np.uint8 or np.issubdtype(array.dtype, np.floating)
  if not (shape_ok and dtype_ok):
    raise DataError(f"{path}: expected images as uint8 NxHxWxC (C = 1 or 3) or NxHxW, got "
                    f"{array.dtype} {array.shape}")
  return array


def open_source(path: str | os.PathLike) -> Source:
  """A folder of PNG/JPEG images (recursively) or a .npy array of images.

  Raises:
    DataError: the path is missing, or holds no images (one line).
  """
  path = pathlib.Path(path)
  if path.is_dir():
    files = tuple(sorted(p for p in path.rglob("*")
                         if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()))
    if not files:
      raise DataError(f"{path}: no PNG or JPEG images in this folder or below it")
    return Source(path, "folder", len(files), files)
  if path.is_file() and path.suffix.lower() == ".npy":
    return Source(path, "npy", int(_load_npy(path).shape[0]))
  if path.exists():
    raise DataError(f"{path}: expected a folder of images or a .npy file")
  raise DataError(f"{path}: no such file or folder")
