"""A folder of one's own images (PNG or JPEG) as a dataset, in torchvision's `ImageFolder` convention.

Every PNG or JPEG under the folder is read (recursively). When the folder has subfolders, each
first-level subfolder is a class, its name the label (classes numbered in sorted name order) and
files directly in the folder are left out; without subfolders, the images are unlabelled (label 0).
A file that cannot be decoded is skipped, and one warning names the skipped files.
"""

import logging
import os

import numpy as np
from PIL import Image

from jaxgan.errors import DataError

log = logging.getLogger(__name__)
SUFFIXES = (".png", ".jpg", ".jpeg")
EVALUATOR_DIR = ".jaxgan"  # A folder's evaluator (`experiments.train_evaluator --folder`) lives here.
TEST_EVERY = 7  # Every 7th image (in sorted order, so of every class) is the evaluator's test split.
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def fit(image: Image.Image, size: int, channels: int) -> np.ndarray:
  """`image` as uint8 img_HxWxC: grey (C=1) or RGB (C=3); with `size` > 0, its shorter side resized
  to `size` (antialiased) and the centre `size` x `size` crop kept."""
  image = image.convert("L" if channels == 1 else "RGB")
  if size:
    scale = size / min(image.size)
    width, height = max(size, round(image.width * scale)), max(size, round(image.height * scale))
    if (width, height) != image.size:
      image = image.resize((width, height), Image.Resampling.BICUBIC, reducing_gap=3.0)
    left, top = (width - size) // 2, (height - size) // 2
    image = image.crop((left, top, left + size, top + size))
  return np.asarray(image, np.uint8).reshape(image.height, image.width, channels)


def fit_array(image_HxWxC: np.ndarray, size: int, channels: int) -> np.ndarray:
  """`fit` for a uint8 array img_HxWxC; the array itself when it fits already."""
  if (not size or image_HxWxC.shape[:2] == (size, size)) and channels in (0, image_HxWxC.shape[-1]):
    return image_HxWxC
  channels = channels or image_HxWxC.shape[-1]
  grey = image_HxWxC.shape[-1] == 1
  return fit(Image.fromarray(image_HxWxC[..., 0] if grey else image_HxWxC), size, channels)


def split_indices(num_images: int) -> tuple[np.ndarray, np.ndarray]:
  """(train_idx, test_idx) of a folder's images for its evaluator: every TEST_EVERY-th is a test
  image. The GAN itself trains on all of them."""
  is_test_N = np.arange(num_images) % TEST_EVERY == TEST_EVERY - 1
  return np.flatnonzero(~is_test_N), np.flatnonzero(is_test_N)


def list_images(folder: str) -> tuple[list[str], list[int], list[str]]:
  """(paths, labels, class_names) of the images under `folder`, in sorted order.

  Raises:
    DataError: `folder` is not a directory, or holds no PNG or JPEG file.
  """
  if not os.path.isdir(folder):
    raise DataError(f"image folder {folder} is not a directory (config.data.folder)")
  classes = sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))
  roots = [(os.path.join(folder, name), label) for label, name in enumerate(classes)]
  paths, labels = [], []
  for root, label in roots or [(folder, 0)]:
    for dirpath, dirnames, filenames in os.walk(root):
      dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
      for name in sorted(filenames):
        if name.lower().endswith(SUFFIXES):
          paths.append(os.path.join(dirpath, name))
          labels.append(label)
  if not paths:
    raise DataError(f"image folder {folder} holds no PNG or JPEG file ({', '.join(SUFFIXES)})")
  loose = [n for n in os.listdir(folder) if classes and n.lower().endswith(SUFFIXES)]
  if loose:
    log.warning("%d image(s) directly in %s left out: with class subfolders, only their images "
                "are read", len(loose), folder)
  return paths, labels, classes


def read_image(path: str, size: int, channels: int) -> np.ndarray:
  """One image file as uint8 img_HxWxC (`fit`).

  Raises:
    DataError: the file cannot be decoded (one line naming it).
  """
  try:
    with Image.open(path) as image:
      return fit(image, size, channels)
  except (OSError, ValueError, Image.DecompressionBombError) as e:
    raise DataError(f"cannot read image {path}: {type(e).__name__}: "
                    f"{(str(e).splitlines() or [''])[0]}") from e


def _headers(paths: list[str]) -> dict[int, tuple[str, tuple[int, int]]]:
  """{index in paths: (mode, (width, height))} of the files that open as images (headers only)."""
  headers = {}
  for i, path in enumerate(paths):
    try:
      with Image.open(path) as image:
        headers[i] = (image.mode, image.size)
    except (OSError, ValueError, Image.DecompressionBombError):
      pass  # Reported with the files that fail to decode.
  return headers


def warn_skipped(skipped: list[str]) -> None:
  if skipped:
    log.warning("skipped %d unreadable image file(s): %s", len(skipped), "; ".join(skipped[:5])
                + (f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""))


def scan_folder(folder: str, size: int = 0, channels: int = 0
                ) -> tuple[list[str], np.ndarray, tuple[int, int, int], list[str]]:
  """The images under `folder` whose headers read, without decoding their pixels.

  Args:
    folder: the image folder (class subfolders optional).
    size: side of the square images after resize and centre crop; 0 keeps the images' own size,
      which must then be the same for all.
    channels: 1 (grey) or 3 (RGB); 0 picks RGB when any image is in colour, else grey.

  Returns:
    (paths, labels_N int32, image_shape (H, W, C), unreadable files).

  Raises:
    DataError: no image opens, or images of several sizes with `size` 0.
  """
  paths, labels, _ = list_images(folder)
  headers = _headers(paths)
  if not headers:
    raise DataError(f"image folder {folder}: none of its {len(paths)} image files could be read")
  channels = channels or (3 if any(m not in _GREY_MODES for m, _ in headers.values()) else 1)
  sizes = sorted({s for _, s in headers.values()})
  if not size and len(sizes) > 1:
    (w1, h1), (w2, h2) = sizes[:2]
    raise DataError(f"image folder {folder} holds images of {len(sizes)} sizes ({w1}x{h1}, "
                    f"{w2}x{h2}, ...); set --config.data.image_size=S to resize and centre-crop "
                    "them to S x S")
  kept = sorted(headers)
  unreadable = [f"{path} (not an image)" for i, path in enumerate(paths) if i not in headers]
  (width, height), = sizes if not size else [(size, size)]
  return ([paths[i] for i in kept], np.asarray(labels, np.int32)[kept], (height, width, channels),
          unreadable)


def read_folder(folder: str, size: int = 0, channels: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """All images under `folder`, as (images_NxHxWxC uint8, labels_N int32) (`scan_folder`'s args).

  A file that cannot be decoded is skipped, and one warning names the skipped files.

  Raises:
    DataError: no readable image, or images of several sizes with `size` 0.
  """
  paths, labels_N, (_, _, channels), skipped = scan_folder(folder, size, channels)
  images, kept = [], []
  for i, path in enumerate(paths):
    try:
      images.append(read_image(path, size, channels))
      kept.append(i)
    except DataError as e:
      skipped.append(str(e).removeprefix("cannot read image "))
  warn_skipped(skipped)
  if not images:
    raise DataError(f"image folder {folder}: none of its {len(paths)} image files could be read")
  return np.stack(images), labels_N[kept]
