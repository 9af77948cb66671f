"""JAX start-up failures through the training command: one line naming the setting and the fix, exit 1,
no traceback. The commands run at once, each in its own subprocess."""

import os
import socket
import sys

import pytest

from tests import processes
from tests.conftest import REPO_ROOT

TIMEOUT = 300


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _start(args, env_update, tmp_path, name):
  env = dict(os.environ, **env_update)
  return processes.start([sys.executable, "-m", "experiments.mnist_gan",
                          "--config=experiments/configs/smoke.py", f"--workdir={tmp_path / name}",
                          *args], cwd=REPO_ROOT, env=env, stdout=processes.PIPE,
                         stderr=processes.PIPE, text=True)


def _results(started) -> dict:
  out = {}
  for name, process in started.items():
    _, stderr = processes.communicate(process, timeout=TIMEOUT)
    out[name] = (process.returncode, [line for line in stderr.split("\n") if line.strip()])
  return out


@pytest.fixture(scope="module")
def platform_failures(tiny_idx_dir, tmp_path_factory):
  tmp_path = tmp_path_factory.mktemp("platforms")
  data = ["--config.data.source=idx", f"--config.data.idx_dir={tiny_idx_dir}"]
  return _results({platform: _start(data, {"JAX_PLATFORMS": platform}, tmp_path, platform)
                   for platform in ("cuda", "tpu")})


def test_a_missing_platform_is_one_line_naming_the_setting(platform_failures):
  """No GPU here: JAX_PLATFORMS=cuda finds no platform (an AssertionError inside JAX)."""
  assert platform_failures["cuda"] == (1, [
      "error: JAX found none of the platforms that JAX_PLATFORMS=cuda asks for on this machine "
      "(no visible GPU or TPU); set JAX_PLATFORMS=cpu, or unset it to use what this machine has"])


def test_a_platform_that_fails_to_initialise_is_one_line_with_its_reason(platform_failures):
  """No libtpu here: the TPU runtime fails to load, as a broken CUDA install would."""
  code, lines = platform_failures["tpu"]
  assert code == 1 and len(lines) == 1, lines
  assert lines[0].startswith("error: JAX cannot start the 'tpu' platform that JAX_PLATFORMS=tpu "
                             "asks for: "), lines
  assert "libtpu" in lines[0] and lines[0].endswith("; set JAX_PLATFORMS=cpu, or unset it to use "
                                                    "what this machine has"), lines


@pytest.mark.slow
def test_an_unreachable_coordinator_is_one_line_within_the_timeout(tmp_path):
  """Process 1 of 2 with nobody at its address, and process 0 (at another) with nobody joining."""
  addresses = {i: f"127.0.0.1:{_free_port()}" for i in (0, 1)}
  results = _results({i: _start([f"--coordinator_address={address}", "--num_processes=2",
                                 f"--process_id={i}", "--coordinator_timeout=3"], {}, tmp_path, str(i))
                      for i, address in addresses.items()})
  expected = {i: (1, [f"error: the processes of the multi-process run did not all reach the "
                      f"coordinator at {address} within 3 s: start every process (process 0 first), "
                      "check --coordinator_address (process 0's host and a free port) and the "
                      "firewall, or raise --coordinator_timeout"]) for i, address in addresses.items()}
  assert results == expected
