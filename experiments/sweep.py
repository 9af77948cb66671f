"""Trains every variant of a grid of config values and tabulates their final evaluations:
`jaxgan sweep` in a checkout (jaxgan/cli/sweep.py)."""

import runpy

if __name__ == "__main__":
  runpy.run_module("jaxgan.cli.sweep", run_name="__main__", alter_sys=True)
