"""The tests' own child processes (tests/processes.py): none outlives the test or module that started it,
pass or fail, grandchildren included; a timeout kills the whole group; Ctrl-C reaches them even when
pytest runs as a background job that inherited SIGINT ignored; and no test starts a process otherwise.
"""

import ast
import os
import signal
import subprocess
import sys
import time

import pytest

from tests import processes
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads processes from /proc (Linux)")

# A child that starts a grandchild, records both pids in the file argv[1], then sleeps argv[2] seconds.
PARENT = """
import os, subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)"])
with open(sys.argv[1] + ".tmp", "w") as f:
  f.write(f"{os.getpid()} {grandchild.pid}")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(float(sys.argv[2]))
"""


def alive(pid: int) -> bool:
  """Whether process `pid` exists and is not a zombie (dead, its exit status not yet read)."""
  try:
    with open(f"/proc/{pid}/stat") as f:
      return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
  except FileNotFoundError:
    return False


def recorded_pids(path, timeout: float = 120) -> list[int]:
  """The pids that PARENT recorded in `path`, once it has."""
  deadline = time.monotonic() + timeout
  while not os.path.exists(path):
    assert time.monotonic() < deadline, f"no pids in {path} after {timeout} s"
    time.sleep(0.01)
  with open(path) as f:
    return [int(pid) for pid in f.read().split()]


def start_parent(pid_file, seconds: float = 1000) -> list[int]:
  """Starts PARENT (through tests/processes.py); the pids of it and its grandchild, both running."""
  processes.start([sys.executable, "-c", PARENT, pid_file, str(seconds)])
  pids = recorded_pids(pid_file)
  assert all(map(alive, pids)), pids
  return pids


def test_a_failing_body_leaves_no_process_of_its_group(tmp_path):
  with pytest.raises(AssertionError, match="the body failed"):
    with processes.scope():
      pids = start_parent(tmp_path / "pids")
      raise AssertionError("the body failed")
  assert not any(map(alive, pids)), pids


def test_what_a_process_leaves_running_is_killed_when_it_is_reaped(tmp_path):
  child = processes.start([sys.executable, "-c", PARENT, tmp_path / "pids", "0"])
  assert processes.wait(child, 120) == 0
  pids = recorded_pids(tmp_path / "pids")
  assert not any(map(alive, pids)), pids


@pytest.mark.slow
def test_a_timeout_of_run_kills_the_whole_group_even_one_holding_its_pipes(tmp_path):
  """subprocess.run would kill only the child, then wait for ever for the grandchild's pipes."""
  start = time.monotonic()
  with pytest.raises(subprocess.TimeoutExpired):
    processes.run([sys.executable, "-c", PARENT, tmp_path / "pids", "1000"], capture_output=True,
                  text=True, timeout=5)
  assert time.monotonic() - start < 60
  pids = recorded_pids(tmp_path / "pids", timeout=0)  # Recorded before the timeout.
  assert not any(map(alive, pids)), pids


# Run with SIGINT ignored, as a job that a non-interactive shell starts with `&`: the SIGINT disposition
# of a child started by subprocess.Popen and of one started by tests/processes.py, and how a SIGINT ends
# the latter.
IGNORING_SIGINT = """
import os, signal, subprocess, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
from tests import processes

def ignores_sigint(pid):
  with open(f"/proc/{pid}/status") as f:
    mask = int(next(line for line in f if line.startswith("SigIgn:")).split()[1], 16)
  return bool(mask & 1 << (signal.SIGINT - 1))

sleeper = [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(1000)"]
plain = subprocess.Popen(sleeper, stdout=subprocess.PIPE, text=True)
plain.stdout.readline()
print("subprocess.Popen:", ignores_sigint(plain.pid))
plain.kill()
plain.wait()
child = processes.start(sleeper, stdout=subprocess.PIPE, text=True)
child.stdout.readline()  # Its Python is in the sleep, its SIGINT handler installed.
print("processes.start:", ignores_sigint(child.pid))
os.kill(child.pid, signal.SIGINT)
print("exit after SIGINT:", processes.wait(child, 60))
"""


def test_a_child_gets_sigint_even_where_pytest_inherited_it_ignored():
  result = processes.run([sys.executable, "-c", IGNORING_SIGINT], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.splitlines() == [
      "subprocess.Popen: True",  # The setting this test reproduces.
      "processes.start: False",
      f"exit after SIGINT: {-signal.SIGINT}"]  # KeyboardInterrupt, uncaught.


# An inner pytest session with the suite's conftest fixtures: a module fixture's process and a failing
# test's process, each with a grandchild.
INNER_CONFTEST = """
from tests.conftest import _kill_the_processes_of_each_module, _kill_the_processes_of_each_test
"""
INNER_FIRST_MODULE = """
import pytest
from tests.test_processes import alive, recorded_pids, start_parent

@pytest.fixture(scope="module")
def shared_run(tmp_path_factory):
  return start_parent("module_pids")

def test_that_fails(shared_run):
  start_parent("test_pids")
  assert False, "the test failed"

def test_after_it(shared_run):
  assert not any(map(alive, recorded_pids("test_pids"))), "the failed test's processes outlived it"
  assert all(map(alive, shared_run)), "the module fixture's processes were killed before its end"
"""
INNER_SECOND_MODULE = """
from tests.test_processes import alive, recorded_pids

def test_after_the_first_module():
  assert not any(map(alive, recorded_pids("module_pids"))), "the first module's processes outlived it"
"""


@pytest.mark.slow
def test_the_suite_fixtures_kill_a_tests_processes_at_its_end_and_a_modules_at_its_end(tmp_path):
  (tmp_path / "pytest.ini").write_text("[pytest]\n")  # This folder is the inner session's root.
  (tmp_path / "conftest.py").write_text(INNER_CONFTEST)
  (tmp_path / "test_first.py").write_text(INNER_FIRST_MODULE)
  (tmp_path / "test_second.py").write_text(INNER_SECOND_MODULE)
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                                  os.environ.get("PYTHONPATH")])))
  result = processes.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
                          "-q", "test_first.py", "test_second.py"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
  summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr
  assert result.returncode == 1 and "1 failed, 2 passed" in summary, result.stdout[-3000:]
  assert "the test failed" in result.stdout
  pids = recorded_pids(tmp_path / "module_pids", 0) + recorded_pids(tmp_path / "test_pids", 0)
  assert not any(map(alive, pids)), pids


# Calls that start a process: tests start theirs through tests/processes.py, and only there.
_STARTERS = {
    "subprocess": {"Popen", "run", "call", "check_call", "check_output", "getoutput",
                   "getstatusoutput"},
    "os": {"system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp", "spawnl", "spawnle",
           "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe", "execv", "execve",
           "execvp", "execvpe", "execl", "execle", "execlp", "execlpe"},
}
_MODULES = ("multiprocessing", "pexpect", "pty", "concurrent.futures.process",
            "concurrent.futures.ProcessPoolExecutor")


def _imported(node) -> list[str]:
  """The modules and names that an import statement imports, as dotted names."""
  if isinstance(node, ast.Import):
    return [alias.name for alias in node.names]
  if isinstance(node, ast.ImportFrom) and node.module:
    return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
  return []


def test_tests_start_processes_only_through_the_helper():
  found = []
  for path in sorted((REPO_ROOT / "tests").rglob("*.py")):
    if path.name == "processes.py":
      continue
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
      where = f"{path.relative_to(REPO_ROOT)}:{getattr(node, 'lineno', '?')}"
      if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
          and node.attr in _STARTERS.get(node.value.id, ())):
        found.append(f"{where}: {node.value.id}.{node.attr}")
      elif isinstance(node, ast.ImportFrom) and any(
          alias.name in _STARTERS.get(node.module, ()) for alias in node.names):
        found.append(f"{where}: from {node.module} import ...")
      elif any(name == module or name.startswith(module + ".")
               for name in _imported(node) for module in _MODULES):
        found.append(f"{where}: imports {', '.join(_imported(node))}")
      elif isinstance(node, ast.Attribute) and node.attr == "ProcessPoolExecutor":
        found.append(f"{where}: ProcessPoolExecutor")
  assert not found, ("start processes with tests/processes.py (start, run), which kills them with "
                     f"their groups: {found}")
