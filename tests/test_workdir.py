"""The workdir: one training run at a time, files that survive a kill at any byte, output paths."""

import json
import os
import signal
import socket
import sys
import time

import pytest

from jaxgan.errors import ConfigError, JaxganError
from jaxgan.run import metrics_log, restore, workdir
from tests import processes
from tests.conftest import REPO_ROOT

TIMEOUT = 300


def _command(module, *args):
  return [sys.executable, "-m", module, *map(str, args)]


def _train_args(idx_dir, workdir_path, *extra):
  return ["--config=experiments/configs/smoke.py", f"--workdir={workdir_path}",
          "--config.data.source=idx", f"--config.data.idx_dir={idx_dir}", *extra]


def _wait_for(predicate, what: str, timeout: float = TIMEOUT):
  deadline = time.monotonic() + timeout
  while not predicate():
    if time.monotonic() > deadline:
      raise AssertionError(f"timed out waiting for {what}")
    time.sleep(0.05)


def _dead_pid() -> int:
  return int(processes.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True).stdout)


def test_lock_is_exclusive_and_released(tmp_path):
  first, second = workdir.RunLock(str(tmp_path)), workdir.RunLock(str(tmp_path))
  first.acquire()
  with pytest.raises(ConfigError, match=rf"in use by a training run on {socket.gethostname()} "
                                        rf"\(pid {os.getpid()}\)"):
    second.acquire()
  first.release()
  second.acquire()
  assert json.load(open(tmp_path / workdir.LOCK_FILE))["pid"] == os.getpid()
  second.release()
  assert not os.path.exists(tmp_path / workdir.LOCK_FILE)


@pytest.mark.parametrize("holder", ["dead_pid", "old_lease_elsewhere", "unreadable"])
def test_a_stale_lock_does_not_block(tmp_path, holder, caplog):
  path = tmp_path / workdir.LOCK_FILE
  if holder == "unreadable":
    path.write_text('{"host": "vm", "pi')  # Torn: a power loss while a lock was written.
  else:
    host, pid = ((socket.gethostname(), _dead_pid()) if holder == "dead_pid" else
                 ("another-host", 1))
    path.write_text(json.dumps(dict(host=host, pid=pid, started=0.0)))
    if holder == "old_lease_elsewhere":
      old = time.time() - workdir.LEASE_SECONDS - 60
      os.utime(path, (old, old))
  lock = workdir.RunLock(str(tmp_path))
  lock.acquire()
  assert json.load(open(path))["pid"] == os.getpid()
  assert any("removing the stale lock" in r.getMessage() for r in caplog.records)
  lock.release()


def test_a_fresh_lease_from_another_host_blocks(tmp_path):
  (tmp_path / workdir.LOCK_FILE).write_text(json.dumps(dict(host="another-host", pid=1, started=0)))
  with pytest.raises(ConfigError, match=r"in use by a training run on another-host \(pid 1\)"):
    workdir.RunLock(str(tmp_path)).acquire()


def test_atomic_open_keeps_the_old_file_when_the_write_fails(tmp_path):
  path = tmp_path / "eval.json"
  workdir.write_json(str(path), {"fcd": 1.0})
  with pytest.raises(RuntimeError):
    with workdir.atomic_open(str(path)) as f:
      f.write('{"fcd": 2.')
      raise RuntimeError("killed mid-write")
  assert json.load(open(path)) == {"fcd": 1.0}
  assert os.listdir(tmp_path) == ["eval.json"]  # No temporary file left behind.


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_atomic_open_honours_the_umask_as_open_does(tmp_path, umask):
  """Files of a run (config.json, metrics, grids, eval.json) are as readable as `open` makes them."""
  code = ("import os, sys; os.umask(int(sys.argv[1], 8)); from jaxgan.run import workdir\n"
          "workdir.write_json(sys.argv[2] + '/atomic.json', {})\n"
          "open(sys.argv[2] + '/plain.json', 'w').close()")
  processes.run([sys.executable, "-c", code, oct(umask)[2:], str(tmp_path)], cwd=REPO_ROOT,
                check=True)
  mode = lambda name: os.stat(tmp_path / name).st_mode & 0o777
  assert mode("atomic.json") == mode("plain.json") == 0o666 & ~umask


def test_a_torn_last_metrics_line_is_dropped_and_a_damaged_one_is_an_error(tmp_path, caplog):
  path = tmp_path / "metrics.jsonl"
  path.write_text('{"step": 10, "g_loss": 1.0}\n{"step": 20, "g_loss": 0.5}\n{"step": 30, "g_l')
  assert [r["step"] for r in metrics_log.read_records(str(path))] == [10, 20]
  assert sum("torn last line" in r.getMessage() for r in caplog.records) == 1
  path.write_text('{"step": 10}\nnot json\n{"step": 30}\n')
  with pytest.raises(JaxganError, match=r"metrics.jsonl: line 2 is not a metrics record"):
    metrics_log.read_records(str(path))


def test_a_run_whose_data_are_missing_leaves_no_empty_workdir(tmp_path):
  run_dir = tmp_path / "runs" / "new"
  result = processes.run(_command("experiments.mnist_gan", *_train_args(tmp_path, run_dir)),
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=TIMEOUT)
  assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
  assert "train-images-idx3-ubyte.gz" in result.stderr
  assert not run_dir.exists() and (tmp_path / "runs").exists()
  existing = tmp_path / "existing"
  existing.mkdir()
  processes.run(_command("experiments.mnist_gan", *_train_args(tmp_path, existing)), cwd=REPO_ROOT,
                capture_output=True, timeout=TIMEOUT)
  assert existing.exists()  # A folder the user made is kept.


@pytest.mark.slow
def test_a_second_run_on_a_busy_workdir_exits_2_and_generate_still_reads_it(tiny_idx_dir,
                                                                           tmp_path):
  run_dir = tmp_path / "run"
  first = processes.start(_command("experiments.mnist_gan", *_train_args(
      tiny_idx_dir, run_dir, "--config.num_steps=100000", "--config.checkpoint_every_steps=2")),
      cwd=REPO_ROOT, stdout=processes.DEVNULL, stderr=processes.PIPE, text=True)
  try:
    _wait_for(lambda: os.path.isdir(run_dir / "checkpoints" / "20"), "the first checkpoint")
    second = processes.run(_command("experiments.mnist_gan", *_train_args(tiny_idx_dir, run_dir)),
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert second.returncode == 2, second.stderr
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and f"pid {first.pid}" in lines[0]
    generated = processes.run(
        _command("experiments.generate", f"--workdir={run_dir}", "--num=4",
                 f"--output={tmp_path / 'new_folder' / 'x.png'}"),
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert generated.returncode == 0, generated.stderr
    assert os.path.isfile(tmp_path / "new_folder" / "x.png")
    # The run saves every 2 steps and keeps 3: the latest step often vanishes while it is read.
    steps = [int(restore.restore_run(str(run_dir))[1].step) for _ in range(20)]
    assert steps == sorted(steps) and steps[-1] > steps[0], steps
    assert first.poll() is None  # The first run went on.
  finally:
    first.send_signal(signal.SIGTERM)
    assert processes.wait(first, TIMEOUT) == 0, first.stderr.read()[-2000:]
  assert not os.path.exists(run_dir / workdir.LOCK_FILE)


@pytest.mark.slow
def test_a_run_killed_with_sigkill_leaves_a_lock_that_does_not_block(tiny_idx_dir, tmp_path):
  run_dir = tmp_path / "run"
  first = processes.start(_command("experiments.mnist_gan", *_train_args(
      tiny_idx_dir, run_dir, "--config.num_steps=100000", "--config.checkpoint_every_steps=20")),
      cwd=REPO_ROOT, stdout=processes.DEVNULL, stderr=processes.DEVNULL)
  _wait_for(lambda: os.path.isdir(run_dir / "checkpoints" / "20"), "the first checkpoint")
  first.kill()  # SIGKILL to the run alone, as the test means; its group goes when it is reaped.
  processes.wait(first, TIMEOUT)
  assert os.path.exists(run_dir / workdir.LOCK_FILE)
  again = processes.run(_command("experiments.mnist_gan", *_train_args(
      tiny_idx_dir, run_dir, "--config.num_steps=40")), cwd=REPO_ROOT, capture_output=True,
      text=True, timeout=TIMEOUT)
  assert again.returncode == 0, again.stderr[-2000:]
  assert f"removing the stale lock {run_dir / workdir.LOCK_FILE} of pid {first.pid}" in again.stderr


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["config", "metrics"])
def test_damaged_run_files_give_one_line(tiny_idx_dir, tmp_path, damage):
  run_dir = tmp_path / "run"
  done = processes.run(_command("experiments.mnist_gan", *_train_args(tiny_idx_dir, run_dir)),
                       cwd=REPO_ROOT, capture_output=True, text=True, timeout=TIMEOUT)
  assert done.returncode == 0, done.stderr[-2000:]
  if damage == "config":
    (run_dir / "config.json").write_text('{"seed": 0, "batch_si')
    command = _command("experiments.generate", f"--workdir={run_dir}", "--num=4",
                       f"--output={tmp_path / 'x.png'}")
  else:
    (run_dir / "metrics.jsonl").write_text('{"step": 10}\ngarbage\n{"step": 20}\n')
    command = _command("experiments.mnist_gan", *_train_args(tiny_idx_dir, run_dir,
                                                             "--config.num_steps=60"))
  result = processes.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=TIMEOUT)
  lines = [line.split("\r")[-1] for line in result.stderr.strip().splitlines()]
  assert result.returncode == 1, result.stderr
  assert "Traceback" not in result.stderr and lines[-1].startswith("error: ")
  assert ("config.json cannot be read" if damage == "config" else "line 2 is not a metrics record") in lines[-1]
