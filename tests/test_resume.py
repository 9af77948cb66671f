"""Resuming a workdir with another config (jaxgan.run.resume): refused, warned about, or allowed."""

import json
import logging
import os
import shutil
import sys

import pytest

from jaxgan.errors import ConfigError
from jaxgan.run import resume
from jaxgan.run import workdir as workdir_lib
from jaxgan.training import loop
from tests import processes
from tests.conftest import REPO_ROOT
from tests.test_runner import _smoke_config

STEPS = 20


@pytest.fixture(scope="module")
def finished_run(tiny_idx_dir, tmp_path_factory):
  """A workdir of a finished STEPS-step smoke run (a checkpoint at STEPS)."""
  workdir = str(tmp_path_factory.mktemp("finished"))
  loop.train_and_evaluate(_smoke_config(tiny_idx_dir, num_steps=STEPS), workdir)
  return workdir


@pytest.fixture
def workdir(finished_run, tmp_path):
  """A copy of the finished run, for a test to resume."""
  copy = str(tmp_path / "run")
  shutil.copytree(finished_run, copy)
  return copy


def _files(workdir):
  return {name: open(os.path.join(workdir, name), "rb").read() for name in os.listdir(workdir)
          if os.path.isfile(os.path.join(workdir, name))}


def test_a_changed_shape_field_is_refused_naming_the_fields(workdir, tiny_idx_dir):
  before = _files(workdir)
  config = _smoke_config(tiny_idx_dir, num_steps=STEPS, seed=5, dtype="bfloat16")
  config.model.g_hidden = (32, 48)
  with pytest.raises(ConfigError) as error:
    loop.train_and_evaluate(config, workdir)
  message = str(error.value)
  assert "\n" not in message and "use a new --workdir" in message
  assert "model.g_hidden (32, 64) -> (32, 48)" in message and "seed 0 -> 5" in message
  assert "dtype 'float32' -> 'bfloat16'" in message
  assert _files(workdir) == before  # Nothing written, config.json kept.


def test_a_changed_training_field_is_warned_about_and_recorded(workdir, tiny_idx_dir, caplog):
  config = _smoke_config(tiny_idx_dir, num_steps=STEPS + 4)
  config.optimizer.g_lr = 1e-3
  config.data.idx_dir = tiny_idx_dir + "/"  # A machine path: not compared.
  with caplog.at_level(logging.INFO, logger="jaxgan"):
    state = loop.train_and_evaluate(config, workdir)
  assert int(state.step) == STEPS + 4  # The new schedule.
  warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
  assert any("optimizer.g_lr 0.0003 -> 0.001" in w and "num_steps" not in w for w in warnings)
  with open(os.path.join(workdir, resume.CHANGES_FILE)) as f:
    records = [json.loads(line) for line in f]
  assert records == [dict(time=records[0]["time"], step=STEPS, changes={
      "num_steps": [STEPS, STEPS + 4], "optimizer.g_lr": [3e-4, 1e-3]})]
  assert workdir_lib.load_config(workdir).optimizer.g_lr == 1e-3


def test_a_finished_run_says_so_in_one_line_and_writes_nothing(workdir, tiny_idx_dir, caplog):
  before = _files(workdir)
  with caplog.at_level(logging.INFO, logger="jaxgan"):
    state = loop.train_and_evaluate(_smoke_config(tiny_idx_dir, num_steps=STEPS), workdir)
  assert int(state.step) == STEPS
  assert [r.getMessage() for r in caplog.records] == [
      f"{workdir} already finished at step {STEPS} (of {STEPS}); raise config.num_steps or "
      "num_epochs to train further"]
  assert _files(workdir) == before


def test_the_training_command_refuses_another_model_with_exit_2(workdir, tiny_idx_dir):
  result = processes.run(
      [sys.executable, "-m", "experiments.mnist_gan", "--config=experiments/configs/smoke.py",
       f"--workdir={workdir}", "--config.data.source=idx", f"--config.data.idx_dir={tiny_idx_dir}",
       f"--config.num_steps={STEPS}", "--config.model.latent_dim=8"],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
  assert result.returncode == 2
  assert result.stderr.splitlines() == [
      f"error: --workdir={workdir} holds a run of another config (step {STEPS}): model.latent_dim "
      "16 -> 8; use a new --workdir, or the saved values to resume it"]
