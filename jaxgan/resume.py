"""What may change when a run resumes in a workdir with another config.

Before restoring, a run compares its config with the workdir's config.json (when the workdir has a
checkpoint):
- shape fields (`SHAPE_FIELDS`: the model, dtype, dataset, image size and channels, pixel range
  and seed; `ema_decay` turned on or off) are refused in one line naming them: the checkpoint was
  trained for the old values;
- schedule fields (`SCHEDULE_FIELDS`: num_steps, num_epochs, the log, checkpoint, evaluation and
  profile periods, sampling and health warnings) may change;
- any other field (optimizer, loss, batch_size, d_steps) may change with a warning naming it.
Every change is appended to WORKDIR/config_changes.jsonl (step, old and new values) before
config.json is overwritten with the new config. Where the data are read from (`MACHINE_FIELDS`:
paths, the source, a mirror) is not compared.
"""

import json
import logging
import os
import time
from typing import Any

from jaxgan import checkpoint as checkpoint_lib
from jaxgan import config_validation, parallel, run_eval
from jaxgan import workdir as workdir_lib
from jaxgan.errors import ConfigError

log = logging.getLogger(__name__)
CHANGES_FILE = "config_changes.jsonl"
SHAPE_FIELDS = ("model.", "dtype", "data.dataset", "data.image_size", "data.channels", "data.range",
                "seed")  # Names, or prefixes ending in ".".
SCHEDULE_FIELDS = ("num_steps", "num_epochs", "log_every_steps", "checkpoint_every_steps",
                   "keep_checkpoints", "eval_every_steps", "eval_num", "eval_final_num",
                   "profile_steps", "steps_per_call", "sampling", "max_nonfinite_steps", "health.")
MACHINE_FIELDS = ("data.idx_dir", "data.tfds_data_dir", "data.source", "data.folder",
                  "data.download_mirror")


def _is(field: str, names: tuple[str, ...]) -> bool:
  return any(field == name or (name.endswith(".") and field.startswith(name)) for name in names)


def describe(changes: dict[str, tuple]) -> str:
  """`field old -> new, ...` of {field: (old, new)}."""
  return ", ".join(f"{field} {old!r} -> {new!r}" for field, (old, new) in changes.items())


def compared(config) -> dict[str, Any]:
  """{field: value} of the fields of `config` that a resume compares (all but `MACHINE_FIELDS`)."""
  return {field: value for field, value in config_validation.flatten(config).items()
          if not _is(field, MACHINE_FIELDS)}


def split(changes: dict[str, tuple]) -> tuple[dict[str, tuple], dict[str, tuple]]:
  """(training changes, schedule changes) of {field: (old, new)}."""
  training = {f: c for f, c in changes.items() if not _is(f, SCHEDULE_FIELDS)}
  return training, {f: c for f, c in changes.items() if f not in training}


def _latest_step(workdir: str) -> int | None:
  directory = os.path.join(workdir, workdir_lib.LATEST_DIR)
  if not os.path.isdir(directory):
    return None
  with checkpoint_lib.Checkpoints(directory, create=False) as ckpts:
    return ckpts.latest_step()


def compare(config, workdir: str) -> tuple[int | None, dict[str, tuple]]:
  """(latest checkpoint step, {field: (saved, new)}) of a resume of `workdir` with `config`; (None,
  {}) when the workdir has no config.json or no checkpoint.

  Raises:
    ConfigError: a shape field differs (one line naming each, and suggesting a new workdir).
  """
  if not os.path.isfile(os.path.join(workdir, workdir_lib.CONFIG_FILE)):
    return None, {}
  step = _latest_step(workdir)
  if step is None:
    return None, {}
  saved = compared(workdir_lib.load_config(workdir))
  changes = {field: (saved.get(field), value) for field, value in compared(config).items()
             if saved.get(field) != value}
  shape = {field: change for field, change in changes.items() if _is(field, SHAPE_FIELDS) or (
      field == "ema_decay" and (change[0] == 0) != (change[1] == 0))}
  if shape:
    raise ConfigError(f"--workdir={workdir} holds a run of another config (step {step}): "
                      f"{describe(shape)}; use a new --workdir, or the saved values to resume it")
  return step, changes


def check(config, workdir: str) -> None:
  """`compare`, then (process 0) logs the changes, warning about the non-schedule ones, and appends
  them to WORKDIR/config_changes.jsonl."""
  step, changes = compare(config, workdir)
  if not changes or not parallel.is_main_process():
    return
  training, schedule = split(changes)
  if training:
    log.warning("resuming at step %d with changed training fields: %s (recorded in %s)", step,
                describe(training), CHANGES_FILE)
  if schedule:
    log.info("resuming at step %d with a new schedule: %s", step, describe(schedule))
  record = dict(time=time.time(), step=step, changes={f: list(c) for f, c in changes.items()})
  with open(os.path.join(workdir, CHANGES_FILE), "a") as f:
    f.write(json.dumps(record) + "\n")


def finished(config, workdir: str, step: int, total_steps: int) -> bool:
  """Whether a run restored at `step` has nothing left to do: its steps are trained and, when the
  config asks for a final evaluation, eval.json holds it (at that step, on that many samples)."""
  if step != total_steps:
    return step > total_steps
  if config.eval_final_num == 0 or run_eval.missing_evaluator(config.data) is not None:
    return True
  try:
    with open(os.path.join(workdir, run_eval.EVAL_FILE)) as f:
      record = json.load(f)
    return record.get("step") == total_steps and record.get("num") == config.eval_final_num
  except (OSError, ValueError):
    return False
