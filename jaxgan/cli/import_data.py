"""Prepares TFDS MNIST (or Fashion-MNIST) offline, from the four local IDX .gz files.

  python -m experiments.import_mnist --idx_dir=DIR [--tfds_data_dir=DIR] [--dataset=mnist]

Afterwards `tfds.load('mnist', data_dir=DIR, download=False)` works. The TFDS data dir defaults to
$TFDS_DATA_DIR, else ~/tensorflow_datasets. Running it again on a prepared dataset does nothing.
"""

import time

from absl import flags

from jaxgan.cli import entry
from jaxgan.data import idx, tfds_offline
from jaxgan.errors import ConfigError

_IDX_DIR = flags.DEFINE_string(
    "idx_dir", "",
    "Folder of the four IDX .gz files (default: $JAXGAN_MNIST_IDX_DIR).")
_TFDS_DATA_DIR = flags.DEFINE_string(
    "tfds_data_dir", "", "TFDS data dir (default: $TFDS_DATA_DIR, else ~/tensorflow_datasets).")
_DATASET = flags.DEFINE_enum("dataset", "mnist", sorted(tfds_offline.BUILDERS), "Dataset to prepare.")


def main():
  idx_dir = idx.resolve_idx_dir(_IDX_DIR.value)
  if not idx_dir:
    raise ConfigError("--idx_dir is required (the folder of the four IDX .gz files), or $JAXGAN_MNIST_IDX_DIR")
  data_dir = tfds_offline.resolve_data_dir(_TFDS_DATA_DIR.value)
  done_before = tfds_offline.is_prepared(_DATASET.value, data_dir)
  start = time.perf_counter()
  path = tfds_offline.prepare(_DATASET.value, idx_dir, data_dir)
  verb = "already prepared" if done_before else "prepared"
  print(f"{_DATASET.value} {verb} in {path} ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
  entry.run(main)
