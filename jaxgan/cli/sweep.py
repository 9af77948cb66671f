"""Trains every variant of a grid of config values and tabulates their final evaluations.

  python -m experiments.sweep --config=experiments/configs/dcgan.py --workdir=runs/sweep \
      --sweep='optimizer.d_lr=1e-4,4e-4 loss.generator=hinge,non_saturating' \
      [--config.FIELD=VALUE ...] [--parallel=1]

Each space-separated axis is FIELD=V1,V2,...; the variants are all their combinations, on top of the
config and its --config.* overrides (in any form absl accepts: --config FILE, --config.FIELD VALUE).
Each variant trains in its own process, as `jaxgan train` (`python -m jaxgan.cli.train`), in WORKDIR/<variant>,
logging to WORKDIR/<variant>/train.log; a line on stderr says when each starts and how it ended. A
rerun resumes unfinished variants and reuses the row of a finished one (WORKDIR/<variant>/
sweep_row.json) only when it was trained with the same resolved config: a changed schedule
(num_steps, ...) trains it further, any other change is refused in one line naming the fields
(`jaxgan.run.resume`), before any training. The table (WORKDIR/sweep.csv and sweep.md) has, per
variant, the final evaluation (config.eval_final_num samples against the real baseline at the same
N) and the wall time of its last training command. --parallel runs that many at once: on a machine
with few cores, parallel variants slow each other down and their minutes are not comparable with a
lone run's.
"""

import csv
import dataclasses
import itertools
import json
import logging
import os
import re
import subprocess
import sys
import time
from concurrent import futures

import ml_collections
from absl import flags
from ml_collections import config_flags

from jaxgan.cli import entry
from jaxgan.config import schema, validation
from jaxgan.errors import ConfigError, Interrupted, JaxganError
from jaxgan.evaluation import run_eval
from jaxgan.run import resume
from jaxgan.run import workdir as workdir_lib

_CONFIG = entry.define_config_file("mlp_gan", "Base training configuration file.")
flags.adopt_module_key_flags(entry)  # --help lists --config and --print_config.
_SWEEP = flags.DEFINE_string("sweep", None, "Axes: 'FIELD=V1,V2 FIELD2=V3,V4'.")
_WORKDIR = flags.DEFINE_string("workdir", "runs/sweep", "Folder of the variants' workdirs and the table.")
_PARALLEL = flags.DEFINE_integer("parallel", 1, "Variants trained at the same time.")

log = logging.getLogger("jaxgan.sweep")
ROW_FILE = "sweep_row.json"  # In a variant's workdir: its row, and the resolved config it came from.
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
  defaults = schema.flatten(config)
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


@dataclasses.dataclass(frozen=True)
class Variant:
  name: str
  flags: list[str]  # --config.FIELD=VALUE of its values on the axes.
  config: ml_collections.ConfigDict  # The base config with those values, validated.


def variants(config, axes) -> list[Variant]:
  """The variants of the grid, each one's config validated before any training."""
  out = []
  for values in itertools.product(*(v for _, v in axes)):
    variant = config.copy_and_resolve_references()
    with variant.unlocked():
      for (field, _), value in zip(axes, values):
        section, _, name = field.rpartition(".")
        (variant[section] if section else variant)[name] = value
    validation.validate(variant)
    name = ",".join(f"{field.rpartition('.')[2]}={_text(v)}" for (field, _), v in zip(axes, values))
    out.append(Variant(name, [f"--config.{field}={_text(v)}" for (field, _), v in zip(axes, values)],
                       variant))
  return out


def _text(value) -> str:
  return str(tuple(value)) if isinstance(value, tuple) else str(value)


def _base_args(holder: flags.FlagHolder) -> list[str]:
  """The flags that give a variant's process the base config: the config file and its overrides."""
  flag = flags.FLAGS[holder.name]
  return [f"--{holder.name}={os.path.abspath(config_flags.get_config_filename(flag))}",
          *(f"--{holder.name}.{field}={_text(value)}"
            for field, value in config_flags.get_override_values(flag).items())]


def _folder(workdir: str, variant: Variant) -> str:
  return os.path.join(workdir, re.sub(r"[^\w.=,+-]", "", variant.name))


def _key(config) -> dict:
  """What a row is keyed by: the resolved config, but where the data are read from."""
  return json.loads(json.dumps(resume.compared(config)))


def check_reruns(grid: list[Variant], workdir: str) -> None:
  """ConfigError when a variant's workdir holds a run that the sweep's config for it cannot resume,
  naming the fields: only schedule fields may change (`jaxgan.run.resume`)."""
  for variant in grid:
    folder = _folder(workdir, variant)
    step, changes = resume.compare(variant.config, folder)
    training, _ = resume.split(changes)
    if training:
      raise ConfigError(f"--workdir={folder} holds variant {variant.name} trained to step {step} "
                        f"with other values: {resume.describe(training)}; use another --workdir")


def _saved_row(folder: str, variant: Variant) -> dict | None:
  """The variant's row from an earlier sweep, if it was trained with the same resolved config."""
  try:
    with open(os.path.join(folder, ROW_FILE)) as f:
      saved = json.load(f)
  except (OSError, ValueError):
    return None
  if (saved.get("config") != _key(variant.config) or
      not os.path.exists(os.path.join(folder, workdir_lib.EVAL_FILE))):
    return None
  return saved["row"]


def _train(variant: Variant, base_args: list[str], workdir: str, progress) -> dict:
  """Trains one variant (or resumes it, or reuses its row); its row of the table."""
  folder = _folder(workdir, variant)
  row = _saved_row(folder, variant)
  if row is not None:
    progress("finished earlier with this config; its row is reused")
    return row
  os.makedirs(folder, exist_ok=True)
  log_path = os.path.join(folder, "train.log")
  progress(f"training, log in {log_path}")
  start = time.perf_counter()
  with open(log_path, "w") as train_log:
    code = subprocess.call([sys.executable, "-m", "jaxgan.cli.train", *base_args,
                            *variant.flags, f"--workdir={folder}"], stdout=train_log,
                           stderr=train_log)
  minutes = (time.perf_counter() - start) / 60
  eval_path = os.path.join(folder, workdir_lib.EVAL_FILE)
  failure = f"exit {code}" if code != 0 or not os.path.exists(eval_path) else None
  if not failure and _key(workdir_lib.load_config(folder)) != _key(variant.config):
    failure = "trained another config"  # The config was not passed on whole: never a row for it.
  if code == Interrupted.exit_code:  # Ctrl-C: the variant saved its latest step and stopped.
    progress(f"stopped by Ctrl-C after {minutes:.1f} min")
    return dict(variant=variant.name, minutes=minutes, error="stopped by Ctrl-C")
  if failure:
    progress(f"failed ({failure}) after {minutes:.1f} min, see {log_path}")
    return dict(variant=variant.name, minutes=minutes, error=f"{failure}, see {log_path}")
  with open(eval_path) as f:
    metrics = json.load(f)
  row = dict(variant=variant.name, minutes=minutes, **{c: metrics[c] for c in COLUMNS[2:]})
  with open(os.path.join(folder, ROW_FILE), "w") as f:
    json.dump(dict(row=row, config=_key(variant.config)), f)
  progress(f"done in {minutes:.1f} min, {run_eval.summary(metrics)}")
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
  config = entry.config_value(_CONFIG)
  if _PARALLEL.value < 1:
    raise ConfigError(f"--parallel: got {_PARALLEL.value}, expected an integer >= 1")
  if config.eval_final_num < 2:
    raise ConfigError("config.eval_final_num: a sweep compares final evaluations; set it >= 2")
  grid = variants(config, parse_axes(_SWEEP.value, config))
  workdir = os.path.abspath(_WORKDIR.value)
  check_reruns(grid, workdir)
  os.makedirs(workdir, exist_ok=True)
  base_args = _base_args(_CONFIG)

  def train(i: int) -> dict:
    progress = lambda message: log.info("[%d/%d] %s: %s", i + 1, len(grid), grid[i].name, message)
    return _train(grid[i], base_args, workdir, progress)

  with futures.ThreadPoolExecutor(_PARALLEL.value) as pool:
    try:
      rows = list(pool.map(train, range(len(grid))))
    except KeyboardInterrupt:  # Ctrl-C reaches the variants too: each saves its step and stops.
      pool.shutdown(cancel_futures=True)
      raise Interrupted("stopped by Ctrl-C: the running variants saved their latest step; rerun the "
                        "same command to resume them") from None
  write_table(rows, workdir)
  print(open(os.path.join(workdir, "sweep.md")).read(), end="")
  failed = [row["variant"] for row in rows if "error" in row]
  if failed:
    raise JaxganError(f"{len(failed)} variant(s) failed: {', '.join(failed)}; see their train.log")


if __name__ == "__main__":
  entry.run(main, _CONFIG)
