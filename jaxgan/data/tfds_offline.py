"""Offline TFDS preparation of MNIST-format datasets from the four local IDX .gz files, as array_record.

The builders here subclass the stock TFDS builders (same name, version and features) and read local
files instead of downloading, so they write the standard `<data_dir>/<name>/<version>/` layout. Once
prepared, plain `tfds.load(name, data_dir=..., download=False)` reads it with the stock builder.

A mismatch against the canonical MNIST checksums is reported as a warning and the import goes on:
the files are still valid IDX data (a re-compressed copy, or a dataset in MNIST format), and a
truncated or corrupt file is rejected anyway by the IDX reader.
"""

import contextlib
import gzip
import hashlib
import io
import json
import logging
import os
import shutil

import tensorflow_datasets as tfds

from jaxgan.data import idx
from jaxgan.errors import DataError

log = logging.getLogger(__name__)

# sha256 of the uncompressed canonical MNIST files (`gunzip -c FILE.gz | sha256sum`).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


class _LocalIdxMixin:
  """Replaces the download of a stock MNIST-format builder by a read of local IDX .gz files."""

  def __init__(self, *, idx_dir: str, **kwargs):
    self._idx_dir = idx_dir
    super().__init__(**kwargs)

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing to download.
    return [
        tfds.core.SplitGenerator(
            name=split, gen_kwargs=dict(zip(("images", "labels"),
                                            idx.read_idx_split(self._idx_dir, split))))
        for split in idx.IDX_FILES
    ]

  def _generate_examples(self, images, labels):
    for index, (image_HxWxC, label) in enumerate(zip(images, labels)):
      yield index, {"image": image_HxWxC, "label": int(label)}


class LocalMNIST(_LocalIdxMixin, tfds.image_classification.MNIST, skip_registration=True):
  """Stock TFDS `mnist` built from local IDX files."""
  name = "mnist"


class LocalFashionMNIST(_LocalIdxMixin, tfds.image_classification.FashionMNIST,
                        skip_registration=True):
  """Stock TFDS `fashion_mnist` built from local IDX files."""
  name = "fashion_mnist"


BUILDERS = {"mnist": LocalMNIST, "fashion_mnist": LocalFashionMNIST}
FILE_FORMAT = "array_record"  # Random access, and read by `tfds.data_source` with NumPy alone.


def resolve_data_dir(data_dir: str = "") -> str:
  """The TFDS data dir: `data_dir`, else $TFDS_DATA_DIR, else TFDS's default (~/tensorflow_datasets)."""
  return os.path.expanduser(data_dir or os.environ.get("TFDS_DATA_DIR") or
                            tfds.core.constants.DATA_DIR)


def variant_dir(dataset: str, data_dir: str) -> str:
  """`<data_dir>/<name>[/<config>]/<version>`, where TFDS keeps the prepared dataset."""
  if dataset in BUILDERS:
    return os.path.join(data_dir, BUILDERS[dataset].name, str(BUILDERS[dataset].VERSION))
  try:
    return os.fspath(tfds.builder(dataset, data_dir=data_dir).data_dir)
  except Exception as e:  # TFDS raises several kinds for an unknown or malformed name.
    raise DataError(f"unknown TFDS dataset {dataset!r}: {(str(e).splitlines() or [''])[0]}") from e


def prepared_format(dataset: str, data_dir: str) -> str | None:
  """The file format `dataset` is prepared in under `data_dir` ("array_record", "tfrecord"), or None
  when it is not prepared (reads two small files; no network, no TensorFlow)."""
  path = variant_dir(dataset, data_dir)
  if not all(os.path.isfile(os.path.join(path, f)) for f in ("dataset_info.json", "features.json")):
    return None
  try:
    with open(os.path.join(path, "dataset_info.json")) as f:
      return json.load(f).get("fileFormat", "tfrecord")
  except (OSError, ValueError) as e:
    raise DataError(f"cannot read {path}/dataset_info.json: {e}") from e


def is_prepared(dataset: str, data_dir: str) -> bool:
  """Whether `dataset` is prepared in `data_dir` as array_record, which reads without TensorFlow."""
  return prepared_format(dataset, data_dir) == FILE_FORMAT


def hide_accelerators_from_tensorflow() -> None:
  """Imports TensorFlow, which TFDS needs to generate a dataset, and hides every GPU and TPU from it
  before its first op (it would otherwise reserve accelerator memory that JAX needs). Its start-up
  notes are off (oneDNN's among them: it only decodes and encodes integer images here) unless
  TF_CPP_MIN_LOG_LEVEL or TF_ENABLE_ONEDNN_OPTS say otherwise."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
  try:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise DataError("preparing a TFDS dataset from the IDX files needs TensorFlow: "
                    "pip install -e '.[prepare]' (training itself reads it without TensorFlow)") from e
  for kind in ("GPU", "TPU"):
    try:
      tf.config.set_visible_devices([], kind)
    except (RuntimeError, ValueError):  # No device of that kind, or TF already started.
      pass


def check_mnist_sha256(idx_dir: str) -> list[str]:
  """Compares the uncompressed IDX files with the canonical MNIST checksums.

  Returns:
    One warning per file whose checksum differs (empty when all match).
  """
  warnings = []
  for name, expected in MNIST_SHA256.items():
    path = os.path.join(idx_dir, name)
    digest = hashlib.sha256()
    try:
      with gzip.open(path, "rb") as f:
        while chunk := f.read(1 << 20):
          digest.update(chunk)
    except (OSError, EOFError) as e:
      raise DataError(f"cannot read IDX file {path}: {e}") from e
    if digest.hexdigest() != expected:
      warnings.append(f"{path}: uncompressed sha256 {digest.hexdigest()} differs from "
                      f"the canonical MNIST file's {expected}")
  return warnings


def prepare(dataset: str, idx_dir: str, data_dir: str = "") -> str:
  """Prepares the TFDS `dataset` in `data_dir` from the IDX .gz files in `idx_dir` (idempotent).

  The dataset is written as array_record, which `tfds.data_source` reads without TensorFlow; one
  prepared earlier in another format (TFRecord) is replaced. Generating it needs TensorFlow (the
  `prepare` extra), imported here with every accelerator hidden from it. A dataset already
  prepared is left as it is, in well under a second. For MNIST, a checksum that
  differs from the canonical files' is logged as a warning; for another dataset, the
  canonical MNIST files are refused.

  Returns:
    The prepared variant dir, `<data_dir>/<name>/<version>`.

  Raises:
    DataError: an IDX file is missing or unreadable, `dataset` is unknown, the files of another
      dataset are the MNIST files, or TensorFlow is not installed.
  """
  if dataset not in BUILDERS:
    raise DataError(f"unknown dataset {dataset!r}; expected one of {sorted(BUILDERS)}")
  data_dir = resolve_data_dir(data_dir)
  if is_prepared(dataset, data_dir):
    return variant_dir(dataset, data_dir)
  hide_accelerators_from_tensorflow()
  mismatches = check_mnist_sha256(idx_dir)
  if dataset == "mnist":
    for line in mismatches:
      log.warning("%s", line)
  elif not mismatches:
    raise DataError(f"{idx_dir} holds the MNIST files, not {dataset}; point the IDX folder "
                    f"(--idx_dir or config.data.idx_dir) at the {dataset} files")
  for split in idx.IDX_FILES:  # Fail on a bad file before TFDS starts writing.
    idx.read_idx_split(idx_dir, split)
  if prepared_format(dataset, data_dir) is not None:  # Another format: prepared again.
    log.info("replacing the %s copy of TFDS %s in %s by %s", prepared_format(dataset, data_dir),
             dataset, variant_dir(dataset, data_dir), FILE_FORMAT)
    shutil.rmtree(variant_dir(dataset, data_dir))
  builder = BUILDERS[dataset](idx_dir=idx_dir, data_dir=data_dir)
  with _quiet_tfds():
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        try_download_gcs=False), file_format=FILE_FORMAT)
  return variant_dir(dataset, data_dir)


@contextlib.contextmanager
def _quiet_tfds():
  """Without TFDS's progress bars and the sizes it prints on stdout (unknown offline)."""
  tfds.disable_progress_bar()
  with contextlib.redirect_stdout(io.StringIO()):
    yield
