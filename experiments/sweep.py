"""Trains every variant of a grid of config values and tabulates their final evaluations.

  python -m experiments.sweep --config=experiments/configs/dcgan.py --workdir=runs/sweep \
      --sweep='optimizer.d_lr=1e-4,4e-4 loss.generator=hinge,non_saturating' \
      [--config.FIELD=VALUE ...] [--parallel=1]

Each space-separated axis is FIELD=V1,V2,...; the variants are all their combinations, on top of the
config and its --config.* overrides. Each variant trains in its own process, as
`python -m experiments.mnist_gan`, in WORKDIR/<variant>, so a rerun resumes unfinished variants
and skips finished ones. The table (WORKDIR/sweep.csv and sweep.md) has, per variant, the final
evaluation (config.eval_final_num samples against the real baseline at the same N) and the wall
time of its training command. --parallel runs that many at once: on a machine with few cores,
parallel variants slow each other down and their minutes are not comparable with a lone run's.
"""

import csv
import itertools
import json
import os
import re
import subprocess
import sys
import time
from concurrent import futures

from absl import flags

from experiments import cli
from jaxgan import config_validation, run_eval
from jaxgan.errors import ConfigError, JaxganError

_CONFIG = cli.define_config_file("config", "experiments/configs/mlp_gan.py",
                                 "Base training configuration (overrides: --config.FIELD=VALUE).")
flags.adopt_module_key_flags(cli)  # --help lists --config and --print_config.
_SWEEP = flags.DEFINE_string("sweep", None, "Axes: 'FIELD=V1,V2 FIELD2=V3,V4'.")
_WORKDIR = flags.DEFINE_string("workdir", "runs/sweep", "Folder of the variants' workdirs and the table.")
_PARALLEL = flags.DEFINE_integer("parallel", 1, "Variants trained at the same time.")

COLUMNS = ("variant", "minutes", "fcd", "fcd_ratio", "kid", "mnist_score", "class_kl", "precision",
           "recall")


def _parse_value(field: str, text: str, default):
  """`text` as the type of the field's default value."""
  try:
    if isinstance(default, bool):
      if text.lower() not in ("true", "false"):
        raise ValueError(text)
      return text.lower() == "true"
    if isinstance(default, (tuple, list)):
      return tuple(int(x) for x in text.split(":"))
    return type(default)(text)
  except ValueError as e:
    raise ConfigError(f"--sweep: {field}={text!r} is not a {type(default).__name__}") from e


def parse_axes(sweep: str, config) -> list[tuple[str, list]]:
  """[(field, values)] of a --sweep string; layer sizes are written 128:256."""
  defaults = config_validation.flatten(config)
  axes = []
  for axis in (sweep or "").split():
    field, _, values = axis.partition("=")
    if field not in defaults:
      raise ConfigError(f"--sweep: unknown config field {field!r} in {axis!r}")
    if not values:
      raise ConfigError(f"--sweep: {axis!r} has no values; write FIELD=V1,V2")
    axes.append((field, [_parse_value(field, v, defaults[field]) for v in values.split(",")]))
  if not axes:
    raise ConfigError("--sweep is required, e.g. --sweep='optimizer.d_lr=1e-4,4e-4'")
  return axes


def variants(config, axes) -> list[tuple[str, list[str]]]:
  """[(name, --config.FIELD=VALUE flags)], each variant's config validated before any training."""
  out = []
  for values in itertools.product(*(v for _, v in axes)):
    variant = config.copy_and_resolve_references()
    with variant.unlocked():
      for (field, _), value in zip(axes, values):
        section, _, name = field.rpartition(".")
        (variant[section] if section else variant)[name] = value
    config_validation.validate(variant)
    name = ",".join(f"{field.rpartition('.')[2]}={_text(v)}" for (field, _), v in zip(axes, values))
    out.append((name, [f"--config.{field}={_text(v)}" for (field, _), v in zip(axes, values)]))
  return out


def _text(value) -> str:
  return str(tuple(value)) if isinstance(value, tuple) else str(value)


def _train(name: str, variant_flags: list[str], base_args: list[str], workdir: str) -> dict:
  """Trains one variant (or resumes it); its row of the table."""
  folder = os.path.join(workdir, re.sub(r"[^\w.=,+-]", "", name))
  eval_path = os.path.join(folder, run_eval.EVAL_FILE)
  row_path = os.path.join(folder, "sweep_row.json")
  if os.path.exists(row_path) and os.path.exists(eval_path):
    with open(row_path) as f:
      return json.load(f)
  os.makedirs(folder, exist_ok=True)
  start = time.perf_counter()
  with open(os.path.join(folder, "train.log"), "w") as log:
    code = subprocess.call([sys.executable, "-m", "experiments.mnist_gan", *base_args,
                            *variant_flags, f"--workdir={folder}"], stdout=log, stderr=log)
  minutes = (time.perf_counter() - start) / 60
  if code != 0 or not os.path.exists(eval_path):
    return dict(variant=name, minutes=minutes, error=f"exit {code}, see {folder}/train.log")
  with open(eval_path) as f:
    metrics = json.load(f)
  row = dict(variant=name, minutes=minutes, **{c: metrics[c] for c in COLUMNS[2:]})
  with open(row_path, "w") as f:
    json.dump(row, f)
  return row


def write_table(rows: list[dict], workdir: str) -> None:
  """WORKDIR/sweep.csv and WORKDIR/sweep.md, one row per variant in grid order."""
  with open(os.path.join(workdir, "sweep.csv"), "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=[*COLUMNS, "error"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
  lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
  for row in rows:
    if "error" in row:
      cells = [row["variant"], f"{row['minutes']:.1f}", row["error"]] + [""] * (len(COLUMNS) - 3)
    else:
      cells = [row["variant"], f"{row['minutes']:.1f}"] + [f"{row[c]:.4g}" for c in COLUMNS[2:]]
    lines.append("| " + " | ".join(cells) + " |")
  with open(os.path.join(workdir, "sweep.md"), "w") as f:
    f.write("\n".join(lines) + "\n")


def main():
  config = cli.config_value(_CONFIG)
  if _PARALLEL.value < 1:
    raise ConfigError(f"--parallel: got {_PARALLEL.value}, expected an integer >= 1")
  if config.eval_final_num < 2:
    raise ConfigError("config.eval_final_num: a sweep compares final evaluations; set it >= 2")
  grid = variants(config, parse_axes(_SWEEP.value, config))
  workdir = os.path.abspath(_WORKDIR.value)
  os.makedirs(workdir, exist_ok=True)
  base_args = [a for a in sys.argv[1:] if a.startswith(("--config=", "--config."))]
  with futures.ThreadPoolExecutor(_PARALLEL.value) as pool:
    rows = list(pool.map(lambda v: _train(*v, base_args, workdir), grid))
  write_table(rows, workdir)
  print(open(os.path.join(workdir, "sweep.md")).read(), end="")
  failed = [row["variant"] for row in rows if "error" in row]
  if failed:
    raise JaxganError(f"{len(failed)} variant(s) failed: {', '.join(failed)}; see their train.log")


if __name__ == "__main__":
  cli.run(main)
