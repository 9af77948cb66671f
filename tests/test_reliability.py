"""Reliability through the real CLI in subprocesses: kill -9 mid-save, kills between checkpoints,
SIGTERM, corrupt checkpoints, a full disk, non-finite steps, bad configs and paths, missing data
offline.

Runs share work: one uninterrupted reference run; one chain of interrupted runs on one workdir (kill -9
mid-save, two kills between checkpoints, SIGTERM, the final run) that must end equal to it; the
corruption, disk-full and NaN runs at once; the bad configs at once.
"""

import glob
import json
import os
import re
import shutil
import signal
import sys
import time

import jax
import numpy as np
import pytest

from jaxgan.run import checkpoint, restore
from jaxgan.run import workdir as workdir_lib
from tests import processes
from tests.conftest import REPO_ROOT, skip_or_fail
from tests.test_runner import _assert_states_equal

pytestmark = pytest.mark.slow

NUM_STEPS, EVERY = 160, 10  # 12 steps an epoch on the tiny data; a checkpoint every 10 steps.
KILL_STEPS, SIGTERM_STEP = (47, 93), 125  # Between checkpoints.
TIMEOUT = 400  # Seconds for one CLI run on a busy 2-core machine.
TMP = ".orbax-checkpoint-tmp"


class _Cli:
  """One command in a subprocess, stderr to a file; killed with its process group by the end of the
  test or module fixture that started it, or by a timeout of `wait` (tests/processes.py)."""

  def __init__(self, args, log_path, module="experiments.mnist_gan", env=None):
    self.log_path = log_path
    with open(log_path, "w") as log:
      self.process = processes.start(
          [sys.executable, "-m", module, *map(str, args)], cwd=REPO_ROOT,
          stdout=processes.DEVNULL, stderr=log, env=env)
    self.start = time.monotonic()

  def wait(self, timeout=TIMEOUT) -> int:
    return processes.wait(self.process, timeout)

  def lines(self) -> list[str]:
    """stderr's lines, each as last drawn (progress bars redraw a line after a carriage return)."""
    with open(self.log_path) as f:
      return [line.split("\r")[-1].rstrip() for line in f.read().split("\n") if line.strip()]

  def log_records(self) -> list[str]:
    """Lines of library logs (absl format, e.g. `W1128 16:43:20.647997 ...`)."""
    return [line for line in self.lines() if re.match(r"[DIWEF]\d{4} \d", line)]

  def messages(self) -> list[str]:
    """The run's messages, less the stale-lock warning that follows a killed run (tested in
    test_workdir.py)."""
    return [line for line in self.lines() if line.startswith(("warning:", "error:", "resuming",
                                                               "stopped"))
            and not line.startswith("warning: removing the stale lock")]


def _args(idx_dir, workdir, *extra):
  return ["--config=experiments/configs/smoke.py", f"--workdir={workdir}",
          "--config.data.source=idx", f"--config.data.idx_dir={idx_dir}",
          f"--config.num_steps={NUM_STEPS}", f"--config.checkpoint_every_steps={EVERY}",
          f"--config.log_every_steps={EVERY}", *extra]


def _steps(workdir) -> list[int]:
  names = os.listdir(os.path.join(workdir, "checkpoints"))
  return sorted(int(n) for n in names if n.isdigit())


def _partials(workdir, folder=workdir_lib.LATEST_DIR) -> list[str]:
  return glob.glob(os.path.join(workdir, folder, f"*{TMP}*"))


def _wait_until(condition, cli: _Cli, timeout=TIMEOUT, poll=0.05) -> bool:
  """Polls `condition` until it holds (True) or the process ends (False)."""
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    if condition():
      return True
    if cli.process.poll() is not None:
      return False
    time.sleep(poll)
  raise TimeoutError(cli.log_path)


def _stopped(pid: int) -> bool:
  with open(f"/proc/{pid}/stat") as f:
    return f.read().rsplit(")", 1)[1].split()[0] == "T"


def _freeze(cli: _Cli) -> None:
  """SIGSTOPs the process and waits until it is stopped."""
  os.kill(cli.process.pid, signal.SIGSTOP)
  _wait_until(lambda: _stopped(cli.process.pid), cli, timeout=10, poll=0.001)


def _kill_during_a_save(cli: _Cli, workdir, folder=workdir_lib.LATEST_DIR) -> list[str]:
  """SIGKILLs the run while a checkpoint in `folder` is half written; returns the partial folders it
  left.

  Waits for orbax's temporary step folder, freezes the process (SIGSTOP) and kills it if the folder
  is still there; otherwise the save had completed, so it lets the process go on to the next save.
  """
  pid = cli.process.pid
  # A save's temporary folder lives for milliseconds: it is polled every millisecond.
  while _wait_until(lambda: _partials(workdir, folder), cli, poll=0.001):
    _freeze(cli)
    partials = _partials(workdir, folder)
    if partials:
      os.kill(pid, signal.SIGKILL)
      cli.wait()
      return partials
    os.kill(pid, signal.SIGCONT)
    _wait_until(lambda: not _partials(workdir, folder), cli)
  raise AssertionError(f"the run ended before a save could be interrupted: {cli.lines()[-3:]}")


def _faults(faults: str) -> dict:
  """The environment of a run that signals itself at the points `faults` names."""
  return dict(os.environ, JAXGAN_TEST_FAULTS=faults)


def _final_state(workdir):
  return restore.restore_run(str(workdir))[1]


@pytest.fixture(scope="module")
def reference_cli(tiny_idx_dir, tmp_path_factory):
  """The uninterrupted run, started first so that it runs beside the interrupted ones."""
  workdir = tmp_path_factory.mktemp("reference")
  return _Cli(_args(tiny_idx_dir, workdir), workdir.parent / "reference.log"), workdir


@pytest.fixture(scope="module")
def reference(reference_cli):
  cli, workdir = reference_cli
  assert cli.wait() == 0, cli.lines()[-3:]
  return workdir


@pytest.fixture(scope="module")
def interrupted(reference_cli, tiny_idx_dir, tmp_path_factory):
  """One workdir through: kill -9 mid-save, two kills between checkpoints, SIGTERM, a final run,
  each at a chosen step (JAXGAN_TEST_FAULTS)."""
  workdir = tmp_path_factory.mktemp("interrupted")
  logs = workdir.parent
  args = _args(tiny_idx_dir, workdir)
  result = {}

  cli = _Cli(args, logs / "killed_mid_save.log", env=_faults("SIGKILL@save=30"))
  cli.wait()
  result["partials"] = _partials(workdir)
  result["steps_after_kill"] = _steps(workdir)

  result["kills"] = []
  for step in KILL_STEPS:
    cli = _Cli(args, logs / f"kill_at_{step}.log", env=_faults(f"SIGKILL@step={step}"))
    cli.wait()
    result["kills"].append(dict(messages=cli.messages(), steps=_steps(workdir)))

  cli = _Cli(args, logs / "sigterm.log", env=_faults(f"SIGTERM@step={SIGTERM_STEP}"))
  result["sigterm"] = dict(code=cli.wait(), messages=cli.messages(), steps=_steps(workdir),
                           partials=_partials(workdir))

  cli = _Cli(args, logs / "final.log")
  result["final"] = dict(code=cli.wait(), messages=cli.messages(), partials=_partials(workdir))
  result["workdir"] = workdir
  return result


def test_kill_9_during_a_save_leaves_a_usable_workdir(interrupted, reference):
  assert [os.path.basename(p) for p in interrupted["partials"]] == [f"30{TMP}"]
  assert interrupted["steps_after_kill"] == [10, 20]
  first_rerun = interrupted["kills"][0]["messages"]
  assert first_rerun[0].startswith("resuming from step 20 of "), first_rerun
  assert not any(TMP in name for name in os.listdir(interrupted["workdir"] / "checkpoints"))
  assert interrupted["final"]["code"] == 0
  _assert_states_equal(_final_state(interrupted["workdir"]), _final_state(reference))


def test_kills_between_checkpoints_resume_from_the_last_one(interrupted, reference):
  for step, kill, next_run in zip(KILL_STEPS, interrupted["kills"],
                                  interrupted["kills"][1:] + [interrupted["sigterm"]]):
    # The save before the last checkpoint is complete (orbax waits for it before the next one).
    assert step // EVERY * EVERY - EVERY <= kill["steps"][-1] <= step // EVERY * EVERY, kill
    assert next_run["messages"][0].startswith(f"resuming from step {kill['steps'][-1]} "), next_run
  assert interrupted["final"]["code"] == 0
  _assert_states_equal(_final_state(interrupted["workdir"]), _final_state(reference))


def test_sigterm_saves_the_current_step_and_exits_0(interrupted):
  sigterm, final = interrupted["sigterm"], interrupted["final"]
  assert sigterm["code"] == 0, sigterm
  (stopped,) = [m for m in sigterm["messages"] if m.startswith("stopped by SIGTERM")]
  step = int(stopped.split("at step ")[1].split(":")[0])
  assert step < NUM_STEPS and sigterm["steps"][-1] == step and not sigterm["partials"], sigterm
  assert final["messages"][0].startswith(f"resuming from step {step} "), final


EVAL_ARGS = ("--config.eval_every_steps=40", "--config.eval_num=64", "--config.eval_final_num=200")


@pytest.fixture(scope="module")
def interrupted_evaluations(reference, tiny_idx_dir, tmp_path_factory):
  """One workdir with evaluation on, through: kill -9 while the best checkpoint is half written,
  kill -9 during the final evaluation (after the last checkpoint, before eval.json), a final run."""
  workdir = tmp_path_factory.mktemp("interrupted_eval")
  args = _args(tiny_idx_dir, workdir, *EVAL_ARGS)
  result = dict(workdir=workdir)
  cli = _Cli(args, workdir.parent / "killed_best_save.log")
  result["best_partials"] = _kill_during_a_save(cli, workdir, workdir_lib.BEST_DIR)

  cli = _Cli(args, workdir.parent / "killed_final_eval.log")
  assert _wait_until(lambda: NUM_STEPS in _steps(workdir), cli), cli.lines()[-3:]
  _freeze(cli)
  result["eval_json_at_kill"] = os.path.exists(workdir / "eval.json")
  cli.process.send_signal(signal.SIGKILL)
  cli.wait()

  cli = _Cli(args, workdir.parent / "after_final_eval_kill.log")
  result["final"] = dict(code=cli.wait(), messages=cli.messages())
  return result


def test_kill_9_during_a_best_checkpoint_save_keeps_a_usable_best(interrupted_evaluations,
                                                                  reference):
  result = interrupted_evaluations
  workdir = result["workdir"]
  assert result["best_partials"], "no half-written best checkpoint was left by the kill"
  assert result["final"]["code"] == 0, result["final"]
  assert not _partials(workdir, workdir_lib.BEST_DIR)
  _, best, _ = restore.restore_run(str(workdir), best=True)
  assert int(best.step) % 40 == 0
  _assert_states_equal(_final_state(workdir), _final_state(reference))  # Evaluation changes nothing.


def test_kill_9_during_the_final_evaluation_reruns_only_the_evaluation(interrupted_evaluations):
  result = interrupted_evaluations
  assert not result["eval_json_at_kill"], "the final evaluation had ended before the kill"
  assert result["final"]["messages"][0].startswith(f"resuming from step {NUM_STEPS} "), result
  with open(result["workdir"] / "eval.json") as f:
    record = json.load(f)
  assert record["step"] == NUM_STEPS and record["num"] == 200 and record["fcd"] > 0


CORRUPTIONS = {
    "empty_step_folder": lambda step_dir: (shutil.rmtree(step_dir), os.mkdir(step_dir)),
    "deleted_array_files": lambda step_dir: [
        os.remove(p) for p in glob.glob(os.path.join(step_dir, "default", "**", "d", "*"),
                                        recursive=True)],
    "truncated_metadata": lambda step_dir: open(  # pylint: disable=consider-using-with
        os.path.join(step_dir, "default", "_METADATA"), "w").write("{\"tree_metadata\": {"),
}
NAN_ARGS = ("--config.optimizer.g_lr=1e30", "--config.optimizer.d_lr=1e30",
            "--config.max_nonfinite_steps=3", "--config.checkpoint_every_steps=1")


def _free_bytes(path) -> int:
  stat = os.statvfs(path)
  return stat.f_bavail * stat.f_frsize


@pytest.fixture(scope="module")
def damaged_runs(reference, tiny_idx_dir, tmp_path_factory):
  """{case: (cli, workdir)}: runs on corrupted copies of the reference, a full disk, and NaNs."""
  root = tmp_path_factory.mktemp("damaged")
  runs, mounted = {}, None
  try:
    for case, corrupt in CORRUPTIONS.items():
      workdir = root / case
      shutil.copytree(reference, workdir)
      corrupt(str(workdir / "checkpoints" / str(NUM_STEPS)))
      runs[case] = _Cli(_args(tiny_idx_dir, workdir), root / f"{case}.log"), workdir
    workdir = root / "none_restorable"
    shutil.copytree(reference, workdir)
    for step in _steps(workdir):
      CORRUPTIONS["empty_step_folder"](str(workdir / "checkpoints" / str(step)))
    runs["none_restorable"] = _Cli(_args(tiny_idx_dir, workdir), root / "none.log"), workdir

    workdir = root / "disk_full"
    os.makedirs(workdir / "checkpoints")
    if processes.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", workdir / "checkpoints"],
                     capture_output=True, check=False).returncode == 0:
      mounted = workdir / "checkpoints"
      last_but_two = _steps(reference)[0]
      shutil.copytree(reference / "checkpoints" / str(last_but_two), mounted / str(last_but_two))
      with open(mounted / "filler", "wb") as f:
        f.write(b"\0" * (_free_bytes(mounted) - 64 * 1024))
      runs["disk_full"] = _Cli(_args(tiny_idx_dir, workdir), root / "disk_full.log"), workdir

    workdir = root / "nan"
    runs["nan"] = _Cli(_args(tiny_idx_dir, workdir, *NAN_ARGS), root / "nan.log"), workdir
    for cli, _ in runs.values():
      cli.wait()
    yield runs
  finally:
    for cli, _ in runs.values():
      processes.kill(cli.process)  # Before the unmount: none may still write there.
    if mounted is not None:
      processes.run(["umount", mounted], check=False)


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_corrupt_latest_checkpoint_falls_back_with_one_warning(damaged_runs, reference, case):
  cli, workdir = damaged_runs[case]
  assert cli.wait() == 0, cli.lines()[-3:]
  assert "Traceback" not in "\n".join(cli.lines()) and not cli.log_records(), cli.lines()
  broken = os.path.join(workdir, "checkpoints", str(NUM_STEPS))
  previous = NUM_STEPS - EVERY
  warning, resuming = cli.messages()[:2]
  assert warning.startswith(f"warning: checkpoint {broken} cannot be restored (") and warning.endswith(
      f"); falling back to step {previous}"), warning
  assert resuming.startswith(f"resuming from step {previous} "), resuming
  assert not [m for m in cli.messages() if m.startswith("warning:")][1:], cli.messages()
  assert os.path.isdir(broken + checkpoint.UNRESTORABLE_SUFFIX)
  _assert_states_equal(_final_state(workdir), _final_state(reference))


def test_no_restorable_checkpoint_exits_1_naming_the_folder(damaged_runs):
  cli, workdir = damaged_runs["none_restorable"]
  assert cli.wait() == 1
  lines = cli.lines()
  assert "Traceback" not in "\n".join(lines) and not cli.log_records(), lines
  assert len([line for line in lines if line.startswith("warning: checkpoint ")]) == 3, lines
  assert lines[-1] == (f"error: no checkpoint in {workdir / 'checkpoints'} can be restored (steps "
                       f"{[NUM_STEPS - 2 * EVERY, NUM_STEPS - EVERY, NUM_STEPS]} are broken); move "
                       "that folder away to train from scratch")


def test_disk_full_at_save_time_is_one_line_and_keeps_the_last_checkpoint(damaged_runs, reference):
  if "disk_full" not in damaged_runs:
    skip_or_fail("cannot mount a tmpfs here (needs root)")
  cli, workdir = damaged_runs["disk_full"]
  kept = _steps(reference)[0]
  assert cli.wait() == 1
  lines = cli.lines()
  # After the failed write, tensorstore may call back into an event loop that orbax (0.12.8) has
  # closed; Python prints that as a bare traceback. Any other traceback fails the test.
  text = re.sub(r"Traceback \(most recent call last\):\n(?:\s+.*\n)*RuntimeError: Event loop is "
                r"closed", "", "\n".join(lines))
  assert "Traceback" not in text and not cli.log_records(), lines
  assert lines[-1] == (f"error: cannot save the checkpoint of step {kept + EVERY} in "
                       f"{workdir / 'checkpoints'}: No space left on device (errno 28); the "
                       f"complete checkpoints (steps [{kept}]) are intact, and a rerun resumes "
                       "from the latest"), lines[-1]
  os.remove(workdir / "checkpoints" / "filler")
  with checkpoint.Checkpoints(str(workdir / "checkpoints"), create=False) as ckpts:
    assert ckpts.all_steps() == [kept]
    restored = ckpts.restore(_final_state(reference), kept)
  with checkpoint.Checkpoints(str(reference / "checkpoints"), create=False) as ckpts:
    _assert_states_equal(restored, ckpts.restore(restored, kept))


def test_nonfinite_steps_are_skipped_never_saved_and_stop_the_run(damaged_runs):
  cli, workdir = damaged_runs["nan"]
  assert cli.wait() == 1
  # Step 1 makes the weights about 1e30 (finite); from step 2 on every loss and gradient overflows.
  assert cli.lines()[-1] == (
      "error: training diverged: 3 non-finite steps in a row up to step 4 "
      "(config.max_nonfinite_steps=3): d_fake, d_grad_norm, d_loss, d_real, fake_loss, "
      "g_grad_norm, g_loss, real_loss not finite; those updates were skipped, so every checkpoint is finite; try a "
      "lower learning rate")
  states = []
  with checkpoint.Checkpoints(str(workdir / "checkpoints"), create=False) as ckpts:
    assert ckpts.all_steps() == [2, 3, 4]  # keep_checkpoints=3; no step after the stop.
    for step in ckpts.all_steps():
      states.append(restore.restore_run(str(workdir), step)[1])
  for state in states:
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state)
               if np.issubdtype(np.asarray(x).dtype, np.floating))
    assert int(state.nonfinite_count) == int(state.step) - 1
    # No update was applied after step 1.
    _assert_states_equal((state.g_params, state.d_params, state.g_opt_state),
                         (states[0].g_params, states[0].d_params, states[0].g_opt_state))


def _bad_cases(tmp, reference, idx_dir):
  """(name, module, args, env extras, expected stderr line start)."""
  a_file = tmp / "a_file"
  a_file.write_text("")
  other = tmp / "other_model"
  shutil.copytree(reference, other)
  ckpt_file = tmp / "ckpt_file"
  ckpt_file.mkdir()
  (ckpt_file / "checkpoints").write_text("")
  smoke = lambda workdir, *extra: _args(idx_dir, workdir, *extra)
  return [
      ("workdir_is_a_file", smoke(a_file), {},
       f"error: --workdir={a_file}: cannot write there: it is a file"),
      ("workdir_under_a_file", smoke(a_file / "run"), {},
       f"error: --workdir={a_file / 'run'}: cannot write there: Not a directory"),
      ("workdir_not_writable", smoke("/sys/kernel"), {},
       "error: --workdir=/sys/kernel: cannot write there: "),
      ("workdir_empty", smoke(""), {}, "error: --workdir: empty"),
      ("checkpoints_is_a_file", smoke(ckpt_file), {},
       f"error: checkpoint folder {ckpt_file / 'checkpoints'} is a file"),
      ("checkpoint_of_another_model", smoke(other, "--config.model.g_hidden=(32,48)"), {},
       f"error: --workdir={other} holds a run of another config (step {NUM_STEPS}): "
       "model.g_hidden (32, 64) -> (32, 48); use a new --workdir, or the saved values to resume it"),
      ("missing_step", ["--workdir", reference, "--step=7", f"--output={tmp / 'x.npy'}"], {},
       f"error: no checkpoint at step 7 in {reference / 'checkpoints'} (found steps "),
      ("batch_not_divisible_by_devices", smoke(tmp / "b12", "--config.batch_size=12"),
       {"XLA_FLAGS": "--xla_force_host_platform_device_count=8"},
       "error: config.batch_size: got 12, expected a multiple of the 8 devices"),
      ("batch_larger_than_data", smoke(tmp / "b400", "--config.batch_size=400"), {},
       "error: config.batch_size: got 400, more than the 200 training examples"),
      ("max_nonfinite_steps_0", smoke(tmp / "m0", "--config.max_nonfinite_steps=0"), {},
       "error: config.max_nonfinite_steps: got 0, expected an integer >= 1"),
      ("negative_grad_norm_limit", smoke(tmp / "g", "--config.health.max_grad_norm=-1.0"), {},
       "error: config.health.max_grad_norm: got -1.0, expected a number in (0.0, inf)"),
      ("idx_dir_empty", smoke(tmp / "i", "--config.data.idx_dir="), {"JAXGAN_MNIST_IDX_DIR": ""},
       "error: config.data.idx_dir: empty while data.source is 'idx'"),
  ]


@pytest.fixture(scope="module")
def bad_runs(reference, tiny_idx_dir, tmp_path_factory):
  tmp = tmp_path_factory.mktemp("bad")
  runs = {}
  cases = _bad_cases(tmp, reference, tiny_idx_dir)
  assert [case[0] for case in cases] == BAD_CASES
  for name, args, env, expected in cases:
    module = "experiments.generate" if name == "missing_step" else "experiments.mnist_gan"
    runs[name] = _Cli(args, tmp / f"{name}.log", module, env=dict(os.environ, **env)), expected
  for cli, _ in runs.values():
    cli.wait()
  return runs


BAD_CASES = ["workdir_is_a_file", "workdir_under_a_file", "workdir_not_writable", "workdir_empty",
             "checkpoints_is_a_file", "checkpoint_of_another_model", "missing_step",
             "batch_not_divisible_by_devices", "batch_larger_than_data", "max_nonfinite_steps_0",
             "negative_grad_norm_limit", "idx_dir_empty"]


@pytest.mark.parametrize("name", BAD_CASES)
def test_bad_config_or_path_exits_2_with_one_line(bad_runs, name):
  cli, expected = bad_runs[name]
  assert cli.wait() == 2, cli.lines()
  lines = cli.lines()
  assert len(lines) == 1 and lines[0].startswith(expected), lines


def test_missing_data_offline_fails_without_a_network_wait_with_the_fix(tmp_path):
  """The CLI's side of tests/test_data.py::test_missing_tfds_data_offline_fails_fast_with_one_line."""
  env = {k: v for k, v in os.environ.items() if k not in ("JAXGAN_MNIST_IDX_DIR", "TFDS_DATA_DIR")}
  env["TFDS_DATA_DIR"] = str(tmp_path / "no_tfds_here")
  cli = _Cli(["--config=experiments/configs/smoke.py", f"--workdir={tmp_path / 'run'}"],
             tmp_path / "log", env=env)
  assert cli.wait(timeout=150) == 1  # TFDS's own network attempt would hang for about 205 s.
  (line,) = cli.messages()
  # The event a fast failure stands for: the network was probed and found missing.
  assert line.startswith("error: TFDS mnist is not prepared in ") and (
      "cannot be downloaded offline (cannot reach " in line and
      "python -m experiments.import_mnist" in line), line
