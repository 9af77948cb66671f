"""Plots and tabulates FCD against wall-clock minutes from the evaluations during training of runs:
`jaxgan time-to-quality` in a checkout (jaxgan/cli/time_to_quality.py)."""

import runpy

if __name__ == "__main__":
  runpy.run_module("jaxgan.cli.time_to_quality", run_name="__main__", alter_sys=True)
