"""Ctrl-C (SIGINT) through the real commands in subprocesses, at chosen points (JAXGAN_TEST_FAULTS).

Training: the first Ctrl-C saves the current step, prints one line and exits 130; a second one during
that save exits at once, and the rerun resumes from the latest complete step. The other commands:
one line, exit 130, no traceback.
"""

import os
import signal
import sys
import time

import pytest

from jaxgan.run import workdir
from jaxgan.run import workdir as workdir_lib
from jaxgan.training import stop_signals
from tests import processes
from tests.conftest import REPO_ROOT

TIMEOUT = 400  # Seconds for one CLI run on a busy 2-core machine.
NUM_STEPS, EVERY = 40, 20


def _run(module: str, args, faults: str = "") -> processes.Process:
  """The command in its own process group, with the default SIGINT disposition whatever pytest
  inherited (tests/processes.py), killed with its group when the test or module fixture ends."""
  env = dict(os.environ, JAXGAN_TEST_FAULTS=faults)
  return processes.start([sys.executable, "-m", module, *map(str, args)], cwd=REPO_ROOT, env=env,
                         stdout=processes.PIPE, stderr=processes.PIPE, text=True)


def _finish(process: processes.Process) -> tuple[int, list[str]]:
  """(exit code, stderr lines as last drawn: a progress bar redraws a line after a carriage return);
  a timeout kills the command's group and fails."""
  _, stderr = processes.communicate(process, timeout=TIMEOUT)
  return process.returncode, [line.split("\r")[-1].strip() for line in stderr.split("\n")
                              if line.split("\r")[-1].strip()]


def _train_args(idx_dir, run_dir):
  return ["--config=experiments/configs/smoke.py", f"--workdir={run_dir}",
          "--config.data.source=idx", f"--config.data.idx_dir={idx_dir}", "--config.steps_per_call=1",
          f"--config.num_steps={NUM_STEPS}", f"--config.checkpoint_every_steps={EVERY}"]


def _messages(lines: list[str]) -> list[str]:
  return [line for line in lines if line.startswith(("error:", "warning:", "resuming", "stopped"))]


@pytest.fixture(scope="module")
def interrupted_training(tiny_idx_dir, tmp_path_factory):
  """One workdir through: Ctrl-C at step 15; Ctrl-C at step 25 and again during its save; a rerun."""
  run_dir = tmp_path_factory.mktemp("ctrl_c")
  args = _train_args(tiny_idx_dir, run_dir)
  ckpt_dir = os.path.join(run_dir, workdir_lib.LATEST_DIR)
  result = {}
  result["first"] = _finish(_run("experiments.mnist_gan", args, "SIGINT@step=15"))
  result["steps_after_first"] = stop_signals.complete_steps(ckpt_dir)
  result["second"] = _finish(_run("experiments.mnist_gan", args, "SIGINT@step=25 SIGINT@stop_save"))
  result["after_second"] = sorted(os.listdir(ckpt_dir))
  result["lock_after_second"] = os.path.exists(os.path.join(run_dir, workdir.LOCK_FILE))
  result["rerun"] = _finish(_run("experiments.mnist_gan", args))
  result["after_rerun"] = sorted(os.listdir(ckpt_dir))
  return result


@pytest.mark.slow
def test_ctrl_c_saves_the_current_step_and_exits_130_with_one_line(interrupted_training):
  code, lines = interrupted_training["first"]
  assert code == 130, lines[-3:]
  assert _messages(lines) == [lines[-1]], lines
  assert lines[-1].startswith("stopped by Ctrl-C at step 15: checkpoint saved in "), lines[-1]
  assert not any("Traceback" in line or "KeyboardInterrupt" in line for line in lines), lines
  assert interrupted_training["steps_after_first"] == [15]
  assert _messages(interrupted_training["second"][1])[0].startswith("resuming from step 15 ")


@pytest.mark.slow
def test_a_second_ctrl_c_during_that_save_exits_at_once_and_the_rerun_resumes(interrupted_training):
  code, lines = interrupted_training["second"]
  assert code == 130, lines[-3:]
  assert lines[-1] == ("stopped by a second Ctrl-C without waiting for the save; rerunning the same "
                       "command resumes from step 20"), lines
  assert not any("Traceback" in line for line in lines), lines
  # The save of step 25 was abandoned half written, and the lock released.
  assert [n for n in interrupted_training["after_second"] if n.startswith("25")] == [
      "25.orbax-checkpoint-tmp"], interrupted_training["after_second"]
  assert not interrupted_training["lock_after_second"]
  code, lines = interrupted_training["rerun"]
  assert code == 0, lines[-3:]
  assert _messages(lines) == [lines[0]] and lines[0].startswith("resuming from step 20 "), lines
  assert interrupted_training["after_rerun"] == ["15", "20", str(NUM_STEPS)]  # No temporary folder.


# Each command, if the Ctrl-C did not stop it, would fail at once on a missing folder: none trains.
@pytest.mark.parametrize("module,args", [
    ("experiments.generate", ["--workdir={missing}"]),
    ("experiments.evaluate", ["--workdir={missing}"]),
    ("experiments.sweep", ["--config=experiments/configs/smoke.py", "--sweep=seed=1,2",
                           "--workdir={tmp}/sweep", "--config.data.source=idx",
                           "--config.data.idx_dir={missing}"]),
    ("experiments.import_mnist", ["--idx_dir={missing}", "--tfds_data_dir={tmp}/tfds"]),
])
def test_ctrl_c_in_a_command_is_one_line_and_exit_130(module, args, tmp_path):
  args = [arg.format(missing=tmp_path / "missing", tmp=tmp_path) for arg in args]
  code, lines = _finish(_run(module, args, "SIGINT@command"))
  assert (code, lines) == (130, ["stopped by Ctrl-C"])


@pytest.mark.slow
def test_ctrl_c_in_a_sweep_stops_its_variants_after_saving(tiny_idx_dir, tmp_path):
  """A terminal's Ctrl-C reaches the whole process group: the sweep and its running variant."""
  args = ["--config=experiments/configs/smoke.py", "--sweep=seed=1,2", f"--workdir={tmp_path}",
          "--config.data.source=idx", f"--config.data.idx_dir={tiny_idx_dir}",
          "--config.num_steps=100000", "--config.checkpoint_every_steps=10",
          "--config.eval_final_num=16"]
  sweep = _run("experiments.sweep", args)  # It leads its own process group, as a terminal's job.
  ckpt_dir = tmp_path / "seed=1" / workdir_lib.LATEST_DIR
  deadline = time.monotonic() + TIMEOUT
  while not stop_signals.complete_steps(ckpt_dir):  # The variant is in its training loop.
    if sweep.poll() is not None or time.monotonic() > deadline:
      processes.kill(sweep)  # Not left training its 100000 steps while the failure is reported.
      pytest.fail(f"no checkpoint of the first variant in {TIMEOUT} s: {_finish(sweep)}")
    time.sleep(0.1)
  os.killpg(sweep.pid, signal.SIGINT)
  code, lines = _finish(sweep)
  assert code == 130, lines
  assert lines[-2:] == [f"[1/2] seed=1: stopped by Ctrl-C after {lines[-2].split()[-2]} min",
                        "stopped by Ctrl-C: the running variants saved their latest step; rerun the "
                        "same command to resume them"], lines
  train_log = (tmp_path / "seed=1" / "train.log").read_text().split("\n")
  stopped = [line for line in train_log if line.startswith("stopped by Ctrl-C at step ")]
  assert len(stopped) == 1, train_log[-3:]
  assert int(stopped[0].split()[5].rstrip(":")) == stop_signals.complete_steps(ckpt_dir)[-1]
  assert not (tmp_path / "seed=2").exists()  # The variant not yet started never starts.
