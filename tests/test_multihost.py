"""Multi-process training through the real entry point: 2 processes x 2 CPU devices on 127.0.0.1 (gloo
collectives) reach the same state as 1 process x 4 devices, and again after both processes are killed and
the run is resumed from its checkpoint.

Every run is a real `python -m experiments.mnist_gan` process with its own time limit; whatever happens,
the test kills the processes it started.
"""

import contextlib
import gzip
import json
import os
import re
import signal
import socket
import struct
import sys
import time

import jax
import numpy as np
import pytest

from jaxgan.run import restore
from tests import processes
from tests.conftest import REPO_ROOT
from tests.state_compare import assert_same_state

pytestmark = pytest.mark.slow

NUM_IMAGES = 200  # 12 steps an epoch at the smoke config's batch of 16.
NUM_STEPS = 60
CHECKPOINT_EVERY = 10
RUN_TIMEOUT_S = 300  # For one run, start-up included.


def write_idx(path, array: np.ndarray) -> None:
  header = bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
  with gzip.open(path, "wb") as f:
    f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def idx_dir(tmp_path_factory):
  """The training split as IDX files: NUM_IMAGES random 28x28 images."""
  path = tmp_path_factory.mktemp("idx")
  rng = np.random.default_rng(0)
  write_idx(path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (NUM_IMAGES, 28, 28)))
  write_idx(path / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, (NUM_IMAGES,)))
  return str(path)


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _train_command(workdir, idx_dir, num_steps: int) -> list[str]:
  return [sys.executable, "-m", "experiments.mnist_gan", "--config=experiments/configs/smoke.py",
          f"--workdir={workdir}", "--config.data.source=idx", f"--config.data.idx_dir={idx_dir}",
          f"--config.num_steps={num_steps}", f"--config.checkpoint_every_steps={CHECKPOINT_EVERY}",
          "--config.keep_checkpoints=100"]


@contextlib.contextmanager
def _processes(command: list[str], num_processes: int, devices_per_process: int, log_prefix: str):
  """Starts `command` as `num_processes` processes of one run (with the multi-host flags when more than
  one), each seeing `devices_per_process` CPU devices; kills any still running on exit."""
  env = dict(os.environ, JAX_PLATFORMS="cpu", JAX_NUM_CPU_DEVICES=str(devices_per_process))
  multihost = []
  if num_processes > 1:
    multihost = [f"--coordinator_address=127.0.0.1:{_free_port()}",
                 f"--num_processes={num_processes}"]
  procs, logs = [], []
  try:
    for i in range(num_processes):
      logs.append(open(f"{log_prefix}{i}.log", "w"))
      flags = multihost + [f"--process_id={i}"] if multihost else []
      procs.append(processes.start(command + flags, cwd=REPO_ROOT, env=env, stdout=logs[-1],
                                   stderr=processes.STDOUT))
    yield procs
  finally:
    for p in procs:
      processes.kill(p)  # With its process group.
    for log in logs:
      log.close()


def _log_tails(log_prefix: str, num_processes: int) -> str:
  tails = []
  for i in range(num_processes):
    with open(f"{log_prefix}{i}.log") as f:
      tails.append(f"--- process {i}:\n" + f.read()[-3000:])
  return "\n".join(tails)


def _run(command, num_processes, devices_per_process, log_prefix) -> None:
  """Runs one training run to its end; fails on a non-zero exit or after RUN_TIMEOUT_S."""
  deadline = time.monotonic() + RUN_TIMEOUT_S
  with _processes(command, num_processes, devices_per_process, log_prefix) as procs:
    while any(p.poll() is None for p in procs):
      if any(p.poll() not in (None, 0) for p in procs) or time.monotonic() > deadline:
        break
      time.sleep(0.2)
    codes = [p.poll() for p in procs]
  assert codes == [0] * num_processes, (
      f"exit codes {codes} (None: still running after {RUN_TIMEOUT_S} s)\n"
      + _log_tails(log_prefix, num_processes))


def _checkpoint_steps(workdir) -> list[int]:
  """Finished checkpoints (orbax writes a step under a temporary name, then renames it)."""
  directory = os.path.join(workdir, "checkpoints")
  names = os.listdir(directory) if os.path.isdir(directory) else []
  return sorted(int(name) for name in names if name.isdigit())


def _restore(workdir, step):
  _, state, _ = restore.restore_run(str(workdir), step)
  return jax.device_get(state)


@pytest.fixture(scope="module")
def single(idx_dir, tmp_path_factory):
  """The workdir of the reference run: 1 process x 4 devices, NUM_STEPS steps."""
  workdir = tmp_path_factory.mktemp("single")
  _run(_train_command(workdir, idx_dir, NUM_STEPS), 1, 4, str(workdir) + "_log")
  return workdir


def test_two_processes_match_one_process_and_resume_after_kill(idx_dir, single, tmp_path):
  start = time.monotonic()
  reference = _restore(single, NUM_STEPS)

  # The same run as 2 processes x 2 devices.
  multi = tmp_path / "multi"
  _run(_train_command(multi, idx_dir, NUM_STEPS), 2, 2, str(tmp_path / "multi"))
  assert _checkpoint_steps(multi) == _checkpoint_steps(single)
  for step in (CHECKPOINT_EVERY, NUM_STEPS):
    assert_same_state(_restore(multi, step), _restore(single, step), atol=1e-5)
  # Only process 0 wrote logs and pictures: each step logged once, one TensorBoard file.
  with open(multi / "metrics.jsonl") as f:
    logged = [json.loads(line)["step"] for line in f if "g_loss" in line]
  assert logged == list(range(10, NUM_STEPS + 1, 10))
  assert len(os.listdir(multi / "tensorboard")) == 1
  assert (multi / "samples" / "progress.gif").is_file() and (multi / "config.json").is_file()
  with open(tmp_path / "multi1.log") as f:
    assert "g_loss" not in f.read()

  # 2 processes killed once a checkpoint is on disk (a run far longer than NUM_STEPS), then resumed.
  resumed = tmp_path / "resumed"
  log_prefix = str(tmp_path / "killed")
  deadline = time.monotonic() + RUN_TIMEOUT_S
  with _processes(_train_command(resumed, idx_dir, 100 * NUM_STEPS), 2, 2, log_prefix) as procs:
    while not _checkpoint_steps(resumed):
      assert all(p.poll() is None for p in procs), _log_tails(log_prefix, 2)
      assert time.monotonic() < deadline, _log_tails(log_prefix, 2)
      time.sleep(0.05)
    for p in procs:
      p.kill()
  killed_at = _checkpoint_steps(resumed)[-1]
  assert killed_at < NUM_STEPS
  _run(_train_command(resumed, idx_dir, NUM_STEPS), 2, 2, str(tmp_path / "resume"))
  with open(tmp_path / "resume0.log") as f:
    resume_log = f.read()
  assert f"step {killed_at}/{NUM_STEPS}:" not in resume_log  # It started after the checkpoint,
  assert f"step {NUM_STEPS}/{NUM_STEPS}:" in resume_log  # and ran to the end.
  assert_same_state(_restore(resumed, NUM_STEPS), reference, atol=1e-5)
  print(f"multi-process test wall time: {time.monotonic() - start:.1f} s")


def test_two_streaming_processes_each_read_their_rows_and_match_one_resident_process(
    idx_dir, single, tmp_path):
  streamed = tmp_path / "streamed"
  _run(_train_command(streamed, idx_dir, NUM_STEPS) + ["--config.data.pipeline=stream"], 2, 2,
       str(streamed))
  assert_same_state(_restore(streamed, NUM_STEPS), _restore(single, NUM_STEPS), atol=1e-5)


def test_sigterm_to_one_process_stops_both_at_one_saved_step_and_the_resume_is_equal(idx_dir,
                                                                                     tmp_path):
  """SIGTERM to process 1 only: both processes agree on a step (JAX's preemption service), save it,
  and exit 0; the saved state equals an uninterrupted run's at that step, and so does the resume."""
  run = tmp_path / "run"
  log_prefix = str(tmp_path / "term")
  deadline = time.monotonic() + RUN_TIMEOUT_S
  with _processes(_train_command(run, idx_dir, 100 * NUM_STEPS), 2, 2, log_prefix) as procs:
    while not _checkpoint_steps(run):  # In the training loop.
      assert all(p.poll() is None for p in procs), _log_tails(log_prefix, 2)
      assert time.monotonic() < deadline, _log_tails(log_prefix, 2)
      time.sleep(0.05)
    procs[1].send_signal(signal.SIGTERM)
    codes = [processes.wait(p, timeout=max(1.0, deadline - time.monotonic())) for p in procs]
  assert codes == [0, 0], _log_tails(log_prefix, 2)
  with open(f"{log_prefix}0.log") as f:
    (stopped_at,) = map(int, re.findall(r"stopped by SIGTERM at step (\d+): checkpoint saved",
                                        f.read()))
  assert _checkpoint_steps(run)[-1] == stopped_at

  end = stopped_at + 7
  reference = tmp_path / "reference"
  _run(_train_command(reference, idx_dir, end) + [f"--config.checkpoint_every_steps={stopped_at}"],
       1, 4, str(tmp_path / "reference"))
  assert_same_state(_restore(run, stopped_at), _restore(reference, stopped_at), atol=1e-5)
  _run(_train_command(run, idx_dir, end), 2, 2, str(tmp_path / "resume"))
  assert_same_state(_restore(run, end), _restore(reference, end), atol=1e-5)


def test_incomplete_multihost_flags_exit_2_with_one_line(tmp_path):
  result = processes.run(
      [sys.executable, "-m", "experiments.mnist_gan", "--config=experiments/configs/smoke.py",
       f"--workdir={tmp_path}", "--num_processes=2"],
      cwd=REPO_ROOT, env=dict(os.environ, JAX_PLATFORMS="cpu"), capture_output=True, text=True,
      timeout=RUN_TIMEOUT_S, check=False)
  assert result.returncode == 2, result.stderr
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: cannot start a multi-process run:"), lines
