"""Random-access sources of one split, read a batch at a time by the streaming input pipeline
(`jaxgan.data.streaming`): the IDX arrays, a prepared TFDS dataset (`tfds.data_source`), or an image
folder. Each has `len()`, `image_shape` (H, W, C), `num_classes` (0: unlabelled) and
`read(indices) -> (images_BxHxWxC uint8, labels_B int32)`."""

import numpy as np

from jaxgan.data import image_folder, splits
from jaxgan.data.idx import read_idx_split, resolve_idx_dir
from jaxgan.errors import DataError


class ArraySource:
  """Arrays already in host memory (the IDX reader decodes its whole file)."""

  def __init__(self, images_NxHxWxC: np.ndarray, labels_N: np.ndarray):
    self._images, self._labels = images_NxHxWxC, labels_N
    self.image_shape = images_NxHxWxC.shape[1:]
    self.num_classes = int(labels_N.max()) + 1

  def __len__(self) -> int:
    return len(self._images)

  def read(self, indices) -> tuple[np.ndarray, np.ndarray]:
    return self._images[indices], self._labels[indices]


class TfdsSource:
  """A prepared TFDS dataset, its examples decoded when read (NumPy only, no TensorFlow)."""

  def __init__(self, data_config, split: str):
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
    dataset, data_dir, _ = splits.prepared_tfds(data_config)
    self._source = tfds.data_source(dataset, split=split, data_dir=data_dir, download=False)
    features = self._source.dataset_info.features
    height, width, channels = features["image"].shape
    self._size, self._channels = data_config.image_size, data_config.channels
    if not self._size and None in (height, width):
      raise DataError(f"TFDS {dataset}'s images differ in size; set --config.data.image_size=S to "
                      "resize and centre-crop them to S x S")
    self.image_shape = (self._size or height, self._size or width, self._channels or channels)
    self.num_classes = features["label"].num_classes if "label" in features else 0

  def __len__(self) -> int:
    return len(self._source)

  def read(self, indices) -> tuple[np.ndarray, np.ndarray]:
    examples = self._source.__getitems__([int(i) for i in indices])
    images = [image_folder.fit_array(np.asarray(e["image"], np.uint8), self._size, self._channels)
              for e in examples]
    return np.stack(images), np.array([e.get("label", 0) for e in examples], np.int32)


class FolderSource:
  """The images under a folder (`jaxgan.data.image_folder`), decoded when read. Files whose headers do
  not read are skipped with one warning; one whose pixels fail to decode stops the run in one line
  naming it."""

  def __init__(self, data_config):
    self._paths, self._labels, self.image_shape, unreadable = image_folder.scan_folder(
        data_config.folder, data_config.image_size, data_config.channels)
    image_folder.warn_skipped(unreadable)
    self._size = data_config.image_size
    self.num_classes = int(self._labels.max()) + 1

  def __len__(self) -> int:
    return len(self._paths)

  def read(self, indices) -> tuple[np.ndarray, np.ndarray]:
    images = [image_folder.read_image(self._paths[i], self._size, self.image_shape[-1])
              for i in indices]
    return np.stack(images), self._labels[indices]


def open_source(data_config, split: str):
  """The source of `split` of `data_config` (as `splits.load_split` reads it, but lazily).

  Raises:
    DataError: the data are missing or unreadable (one-line message naming the fix).
  """
  if data_config.source == "idx":
    images_NxHxWxC, labels_N = read_idx_split(resolve_idx_dir(data_config.idx_dir), split)
    return ArraySource(splits.fit_all(images_NxHxWxC, data_config.image_size,
                                        data_config.channels), labels_N)
  if data_config.source == "folder":
    if split != "train":
      raise DataError(f"an image folder has no {split} split (config.data.source is 'folder')")
    return FolderSource(data_config)
  return TfdsSource(data_config, split)
