"""Prepares TFDS MNIST (or Fashion-MNIST) offline, from the four local IDX .gz files:
`jaxgan import-data` in a checkout (jaxgan/cli/import_data.py)."""

import runpy

if __name__ == "__main__":
  runpy.run_module("jaxgan.cli.import_data", run_name="__main__", alter_sys=True)
