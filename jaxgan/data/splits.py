"""Loading a dataset's split as uint8 arrays: from TFDS (prepared offline from IDX files or
downloaded), from the IDX files directly, or from a folder of images."""

import hashlib
import logging
import os
import zipfile

import numpy as np

from jaxgan.data import image_folder
from jaxgan.data.idx import read_idx_split, resolve_idx_dir
from jaxgan.errors import DataError

log = logging.getLogger(__name__)
DATASETS = ("mnist", "fashion_mnist")  # Both ship as the same four IDX file names.
SOURCES = ("tfds", "idx", "folder")


def load_split(data_config, split: str) -> tuple[np.ndarray, np.ndarray]:
  """Loads `split` ("train" or "test") of `data_config.dataset` from `data_config.source`.

  The "idx" source reads the IDX .gz files in `data_config.idx_dir` (empty: $JAXGAN_MNIST_IDX_DIR)
  with numpy only. The "folder"
  source reads the images under `data_config.folder` (`jaxgan.data.image_folder`; train split only).
  The "tfds" source reads the TFDS dataset prepared in `data_config.tfds_data_dir` (empty:
  $TFDS_DATA_DIR or TFDS's default). When it is not prepared, it is prepared once: from the IDX
  files when `idx_dir` is set (MNIST and Fashion-MNIST), else downloaded by TFDS
  (`jaxgan.data.tfds_online`, from `data_config.download_mirror` when set), which fails within
  seconds without a network. Preparing needs TensorFlow (the `prepare` extra); reading does not:
  the dataset is array_record, read with `tfds.data_source`. With `data_config.image_size` > 0 or
  `data_config.channels` > 0, the images are resized and centre-cropped, or converted, to fit.

  Returns:
    (images_NxHxWxC uint8, labels_N int32) as numpy arrays.

  Raises:
    DataError: the data are missing or unreadable (one-line message naming the fix).
  """
  if data_config.source == "idx":
    images_NxHxWxC, labels_N = read_idx_split(resolve_idx_dir(data_config.idx_dir), split)
  elif data_config.source == "folder":
    if split != "train":
      raise DataError(f"an image folder has no {split} split (config.data.source is 'folder')")
    return image_folder.read_folder(data_config.folder, data_config.get("image_size", 0),
                                    data_config.get("channels", 0))
  else:
    images_NxHxWxC, labels_N = _load_tfds_split(data_config, split)
  return (fit_all(images_NxHxWxC, data_config.get("image_size", 0), data_config.get("channels", 0)),
          labels_N)


def fit_all(images, size: int, channels: int) -> np.ndarray:
  """Stacked images_NxHxWxC resized and centre-cropped to `size` and converted to `channels` (0:
  as they are); `images` is an array or, for a dataset of mixed sizes, a list of img_HxWxC."""
  same = not isinstance(images, list)
  if same and (not size or images.shape[1:3] == (size, size)) and channels in (0, images.shape[-1]):
    return images
  if not size and len({image.shape[:2] for image in images}) > 1:
    raise DataError("the dataset's images differ in size; set --config.data.image_size=S to resize "
                    "and centre-crop them to S x S")
  channels = channels or max(image.shape[-1] for image in images)
  return np.stack([image_folder.fit_array(image, size, channels) for image in images])


def _load_tfds_split(data_config, split: str) -> tuple[np.ndarray, np.ndarray]:
  dataset, data_dir, variant_dir = prepared_tfds(data_config)
  return _read_array_record(dataset, split, data_dir, variant_dir)


def prepared_tfds(data_config) -> tuple[str, str, str]:
  """(dataset, data_dir, variant_dir) of `data_config.dataset`, prepared first when it is not
  (`load_split` says how)."""
  from jaxgan.data import tfds_offline  # pylint: disable=import-outside-toplevel
  dataset, idx_dir = data_config.dataset, resolve_idx_dir(data_config.idx_dir)
  data_dir = tfds_offline.resolve_data_dir(data_config.tfds_data_dir)
  if not tfds_offline.is_prepared(dataset, data_dir):
    found = tfds_offline.prepared_format(dataset, data_dir)
    if idx_dir and dataset in tfds_offline.BUILDERS:
      log.info("Preparing TFDS %s in %s from the IDX files in %s (once).", dataset, data_dir, idx_dir)
      tfds_offline.prepare(dataset, idx_dir, data_dir)
    elif found:
      raise _not_prepared(dataset, data_dir, f"prepared in {data_dir} as {found}, which only "
                          "TensorFlow reads")
    else:
      from jaxgan.data import tfds_online  # pylint: disable=import-outside-toplevel
      try:
        tfds_online.prepare(dataset, data_dir, data_config.get("download_mirror", ""))
      except tfds_online.OfflineError as e:
        raise _not_prepared(dataset, data_dir, f"not prepared in {data_dir} and cannot be "
                            f"downloaded offline ({e})") from e
  return dataset, data_dir, tfds_offline.variant_dir(dataset, data_dir)


def _not_prepared(dataset: str, data_dir: str, state: str) -> DataError:
  """The one-line error for a TFDS dataset that cannot be read, naming the ways to prepare it."""
  if dataset not in DATASETS:
    return DataError(f"TFDS {dataset} is {state}; prepare it on a machine with internet (the same "
                     f"command) and copy its folder into {data_dir}")
  return DataError(
      f"TFDS {dataset} is {state}; prepare it as array_record with `pip install -e '.[prepare]'` "
      f"and `python -m experiments.import_mnist --dataset={dataset} --idx_dir=DIR "
      f"--tfds_data_dir={data_dir}`, or read the IDX files directly with "
      f"`--config.data.source=idx --config.data.idx_dir=DIR`")


def _read_array_record(dataset: str, split: str, data_dir: str, variant_dir: str
                       ) -> tuple[np.ndarray, np.ndarray]:
  """A split through `tfds.data_source` (NumPy only, no TensorFlow). Its decoded arrays are cached
  beside the dataset, keyed by its dataset_info.json, so that later runs skip the PNG decoding."""
  with open(os.path.join(variant_dir, "dataset_info.json"), "rb") as f:
    key = hashlib.sha256(f.read()).hexdigest()
  cache = os.path.join(variant_dir, f"jaxgan-uint8-{split}.npz")
  try:
    with np.load(cache) as arrays:
      if str(arrays["key"]) == key:
        return arrays["images"], arrays["labels"]
  except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
    pass  # No cache yet, or a stale or torn one: decode again.
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  try:
    source = tfds.data_source(dataset, split=split, data_dir=data_dir, download=False)
    examples = source.__getitems__(range(len(source)))
  except Exception as e:  # Any failure to read the prepared files is a data error.
    first_line = (str(e).splitlines() or [""])[0]
    raise DataError(f"cannot read TFDS {dataset} {split} from {data_dir}: {type(e).__name__}: "
                    f"{first_line}") from e
  images = [np.asarray(example["image"], np.uint8) for example in examples]
  if len({image.shape for image in images}) > 1:
    return images, _labels(examples)  # Mixed sizes: fitted by the caller, never cached.
  images, labels = np.stack(images), _labels(examples)
  try:
    tmp = f"{cache}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
      np.savez(f, images=images, labels=labels, key=key)
    os.replace(tmp, cache)
  except OSError as e:  # A read-only data dir: the next run decodes again.
    log.info("not caching the decoded %s %s split in %s: %s", dataset, split, variant_dir, e)
  return images, labels


def _labels(examples) -> np.ndarray:
  """labels_N int32 of TFDS examples: their "label" feature, or 0 for an unlabelled dataset."""
  return np.array([example.get("label", 0) for example in examples], np.int32)
