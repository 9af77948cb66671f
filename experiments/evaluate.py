"""Measures the sample quality of a trained run with its images' evaluator classifier:
`jaxgan evaluate` in a checkout (jaxgan/cli/evaluate.py)."""

import runpy

if __name__ == "__main__":
  runpy.run_module("jaxgan.cli.evaluate", run_name="__main__", alter_sys=True)
