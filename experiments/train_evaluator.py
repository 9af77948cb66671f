"""Trains a dataset's evaluator classifier and writes its weights plus a JSON record (sha256, accuracy):
`jaxgan train-evaluator` in a checkout (jaxgan/cli/train_evaluator.py)."""

import runpy

if __name__ == "__main__":
  runpy.run_module("jaxgan.cli.train_evaluator", run_name="__main__", alter_sys=True)
