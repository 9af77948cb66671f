"""What may change when a run resumes in a workdir with another config.

Before restoring, a run compares its config with the workdir's config.json (when the workdir has a
checkpoint), field by field as `schema.FIELDS` classes them:
- `SHAPE` fields (the model, dtype, dataset, image size and channels, pixel range, seed) are refused
  in one line naming them: the checkpoint was trained for the old values; so is a `TOGGLE` field
  (ema_decay) turned on or off;
- `SCHEDULE` fields (steps, epochs, the log, checkpoint, evaluation and profile periods, sampling,
  health warnings) may change;
- `TRAINING` fields (optimizer, loss, batch_size, d_steps, ...) may change with a warning naming them.
Every change is appended to WORKDIR/config_changes.jsonl (step, old and new values) before
config.json is overwritten with the new config. `MACHINE` fields (where the data are read from) are
not compared.
"""

import json
import logging
import os
import time
from typing import Any

from jaxgan import parallel
from jaxgan.config import schema
from jaxgan.errors import ConfigError
from jaxgan.evaluation import run_eval
from jaxgan.run import checkpoint as checkpoint_lib
from jaxgan.run import workdir as workdir_lib

log = logging.getLogger(__name__)
CHANGES_FILE = "config_changes.jsonl"


def _resume(field: str) -> str:
  """The field's resume class (`schema.SHAPE`, ...); a field no schema knows is a training one."""
  return schema.FIELDS[field].resume if field in schema.FIELDS else schema.TRAINING


def describe(changes: dict[str, tuple]) -> str:
  """`field old -> new, ...` of {field: (old, new)}."""
  return ", ".join(f"{field} {old!r} -> {new!r}" for field, (old, new) in changes.items())


def compared(config) -> dict[str, Any]:
  """{field: value} of the fields of `config` that a resume compares (all but the machine's)."""
  return {field: value for field, value in schema.flatten(config).items()
          if _resume(field) != schema.MACHINE}


def split(changes: dict[str, tuple]) -> tuple[dict[str, tuple], dict[str, tuple]]:
  """(training changes, schedule changes) of {field: (old, new)}."""
  training = {f: c for f, c in changes.items() if _resume(f) != schema.SCHEDULE}
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
  shape = {field: (old, new) for field, (old, new) in changes.items()
           if _resume(field) == schema.SHAPE or
           (_resume(field) == schema.TOGGLE and (old == 0) != (new == 0))}
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
  config asks for a final evaluation, eval.json (eval_inception.json) holds it (at that step, on that
  many samples)."""
  if step != total_steps:
    return step > total_steps
  inception = config.eval_features == "inception"
  if config.eval_final_num == 0 or (not inception and run_eval.missing_evaluator(config.data)):
    return True
  name = workdir_lib.EVAL_INCEPTION_FILE if inception else workdir_lib.EVAL_FILE
  try:
    with open(os.path.join(workdir, name)) as f:
      record = json.load(f)
    return record.get("step") == total_steps and record.get("num") == config.eval_final_num
  except (OSError, ValueError):
    return False
