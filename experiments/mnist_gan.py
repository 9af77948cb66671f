"""Trains a GAN on MNIST: `jaxgan train` in a checkout (jaxgan/cli/train.py)."""

import runpy

if __name__ == "__main__":
  runpy.run_module("jaxgan.cli.train", run_name="__main__", alter_sys=True)
