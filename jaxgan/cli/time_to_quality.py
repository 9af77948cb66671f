"""Plots and tabulates FCD against wall-clock minutes from the evaluations during training of runs.

  python -m experiments.time_to_quality --runs=seed=runs/mlp_gan,dcgan=runs/dcgan \
      --output=docs/time_to_quality.png

Each run's metrics.jsonl must hold evaluations during training (config.eval_every_steps > 0); their
`eval/minutes` are the minutes since that training process started. Prints a Markdown table.
"""

import os

from absl import flags

from jaxgan.cli import entry
from jaxgan.errors import ConfigError
from jaxgan.run import metrics_log, visualize

_RUNS = flags.DEFINE_list("runs", None, "NAME=WORKDIR pairs, comma-separated.")
_OUTPUT = flags.DEFINE_string("output", "time_to_quality.png", "The plot's PNG file.")


def curve(workdir: str) -> list[tuple[int, float, float]]:
  """[(step, minutes, FCD ratio)] of a run's evaluations during training."""
  path = os.path.join(workdir, metrics_log.METRICS_FILE)
  if not os.path.exists(path):
    raise ConfigError(f"--runs: no {metrics_log.METRICS_FILE} in {workdir}")
  points = [(r["step"], r["eval/minutes"], r["eval/fcd_ratio"])
            for r in metrics_log.read_records(path) if "eval/minutes" in r]
  if not points:
    raise ConfigError(f"--runs: {workdir} has no evaluation during training with its minutes")
  return points


def main():
  runs = [item.split("=", 1) for item in _RUNS.value or []]
  if not runs or any(len(run) != 2 for run in runs):
    raise ConfigError("--runs: expected NAME=WORKDIR pairs, e.g. --runs=seed=runs/mlp_gan")
  curves = {name: curve(workdir) for name, workdir in runs}
  visualize.plot_time_to_quality(
      {name: [(minutes, ratio) for _, minutes, ratio in points] for name, points in curves.items()},
      _OUTPUT.value)
  print("| run | step | minutes | FCD (x real) |\n|---|---:|---:|---:|")
  for name, points in curves.items():
    for step, minutes, ratio in points:
      print(f"| {name} | {step} | {minutes:.1f} | {ratio:.1f}x |")
  print(f"wrote {_OUTPUT.value}")


if __name__ == "__main__":
  entry.run(main)
