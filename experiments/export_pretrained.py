"""Exports a training run's generator as a pretrained one shipped with the package (jaxgan/weights/):
`jaxgan export-pretrained` in a checkout (jaxgan/cli/export_pretrained.py)."""

import runpy

if __name__ == "__main__":
  runpy.run_module("jaxgan.cli.export_pretrained", run_name="__main__", alter_sys=True)
