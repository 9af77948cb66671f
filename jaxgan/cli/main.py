"""The `jaxgan` console command: `jaxgan COMMAND [FLAGS]`, each command a module of `jaxgan.cli`.

`--config=NAME` (with `=`) names a shipped preset (`jaxgan/config/presets/NAME.py`), so that `jaxgan train
--config=dcgan` works from any folder; a path to a config file works as well.
"""

import os
import runpy
import sys

from jaxgan.config import presets

COMMANDS = {
    "train": ("train", "train a GAN (resumes from the workdir's latest checkpoint)"),
    "generate": ("generate", "draw images from a run or a pretrained generator"),
    "evaluate": ("evaluate", "evaluate a run's samples against its real data"),
    "sweep": ("sweep", "train a grid of config variants and tabulate them"),
    "import-data": ("import_data", "prepare TFDS MNIST or Fashion-MNIST from local IDX files"),
    "train-evaluator": ("train_evaluator", "train a dataset's evaluator classifier"),
    "export-pretrained": ("export_pretrained", "export a run's generator as a pretrained one"),
    "time-to-quality": ("time_to_quality", "plot runs' FCD against their minutes"),
    "fid": ("fid", "FID, KID, IS and precision/recall of two image sets (folders or .npy)"),
}


def _usage() -> str:
  commands = "\n".join(f"  {name:<18} {text}" for name, (_, text) in COMMANDS.items())
  return f"usage: jaxgan COMMAND [--FLAG=VALUE ...]; jaxgan COMMAND --help for its flags\n{commands}"


def _preset_path(arg: str) -> str:
  """`--config=NAME` of a preset as `--config=PATH`; any other argument as it is."""
  name = arg.partition("=")[2]
  path = os.path.join(presets.DIR, f"{name}.py")
  if arg.startswith("--config=") and os.sep not in name and os.path.isfile(path):
    return f"--config={path}"
  return arg


def main() -> None:
  """Runs `jaxgan.cli.<COMMAND>` as the main module, with the remaining arguments."""
  if sys.argv[1:2] in (["-h"], ["--help"]):
    print(_usage())
    return
  if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
    given = f"unknown command {sys.argv[1]!r}; " if len(sys.argv) > 1 else ""
    print(f"error: {given}{_usage()}", file=sys.stderr)
    sys.exit(2)
  module = f"jaxgan.cli.{COMMANDS[sys.argv[1]][0]}"
  sys.argv = [sys.argv[0], *map(_preset_path, sys.argv[2:])]
  runpy.run_module(module, run_name="__main__", alter_sys=True)
