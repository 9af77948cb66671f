"""Samples images from a trained run's checkpoint:
`jaxgan generate` in a checkout (jaxgan/cli/generate.py)."""

import runpy

if __name__ == "__main__":
  runpy.run_module("jaxgan.cli.generate", run_name="__main__", alter_sys=True)
