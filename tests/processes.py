"""The child processes of the tests: each one leads its own process group, which is killed (SIGKILL: the
process and whatever it started) when the test or the module that started it ends, pass or fail; and a
Ctrl-C that a test sends reaches it, whatever signal dispositions pytest inherited.

Tests start processes only through `start` (for `subprocess.Popen`) and `run` (for `subprocess.run`);
tests/test_processes.py checks that no test calls `subprocess` itself. conftest.py opens a `scope` around
each module and each test: a process still running at the end of the innermost scope open when it
started is killed, so one that a module fixture starts (a run that the module's tests share) lives until
the module ends, and one that a test or a function fixture starts, until the test ends. Earlier:
- when a process is reaped (its exit read by wait, poll or communicate), what it left in its group is
  killed at once;
- `run`, `communicate` and `wait` kill the group when they time out (`subprocess.run` kills only its
  direct child, and a grandchild holding the pipes then keeps it waiting for ever), and `run` has a
  timeout by default.

Why groups: a command can start commands of its own (experiments.sweep starts one training run per
variant); killing only the direct child would leave them training for the rest of the suite.
"""

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import time

PIPE, DEVNULL, STDOUT = subprocess.PIPE, subprocess.DEVNULL, subprocess.STDOUT  # For `start`'s callers.
TimeoutExpired = subprocess.TimeoutExpired
DEFAULT_TIMEOUT = 600  # Seconds: no command of the tests may hang the suite, whatever it was given.
_GONE_TIMEOUT = 30  # Seconds for a killed group's processes to be gone.

# Each child starts as this trampoline, which puts back the default disposition of SIGINT (and SIGQUIT)
# and then execs the command (the same pid). A job that a non-interactive shell starts with `&` (a
# scheduler, `nohup bash .ci/run &`) inherits SIGINT and SIGQUIT ignored, an ignored signal stays
# ignored across fork and exec, and Python installs its KeyboardInterrupt handler only where SIGINT
# is not ignored at start-up: the commands would ignore the Ctrl-C that the tests send them, which is
# right for the product (a background job must not be stopped by the terminal's Ctrl-C) and wrong
# for the tests. A trampoline, not `preexec_fn`: preexec_fn forks the multithreaded test process
# (JAX's threads) and runs Python in the child before exec, which can deadlock (and JAX warns).
# `-I -S`: the trampoline needs no site-packages and no PYTHON* variables; the command gets the
# environment unchanged.
_DEFAULT_SIGNALS = ("import os, signal, sys\n"
                    "for signum in (signal.SIGINT, signal.SIGQUIT):\n"
                    "  signal.signal(signum, signal.SIG_DFL)\n"
                    "os.execvp(sys.argv[1], sys.argv[1:])\n")

class Process(subprocess.Popen):
  """A subprocess.Popen whose group is killed as soon as the process is reaped (by wait, poll or
  communicate): whatever it left running goes with it, and at once, while the process's pid, which
  is the group's id, cannot yet have been given to another process (pids are reused, and another
  test's process may lead a group of that id later)."""

  def _handle_exitstatus(self, *args, **kwargs):  # Called by Popen right after it reaps the process.
    super()._handle_exitstatus(*args, **kwargs)
    _kill_group(self.pid, self.args)


# The processes started and not yet killed, by scope: the first, never closed, is killed at exit.
_scopes: list[list[Process]] = [[]]


def start(args, **popen) -> Process:
  """subprocess.Popen(args, **popen), as the leader of a new process group (a new session) with the
  default SIGINT disposition; its group is killed at the end of the current scope, or earlier when
  the process is reaped."""
  if popen.get("start_new_session") is False or popen.get("process_group") is not None:
    raise ValueError("a test's process always leads its own process group and session")
  popen.pop("start_new_session", None)
  args = [os.fspath(arg) for arg in args]
  process = Process([sys.executable, "-I", "-S", "-c", _DEFAULT_SIGNALS, *args],
                    start_new_session=True, **popen)
  process.args = args  # As the caller wrote it, for the messages of errors.
  _scopes[-1].append(process)
  return process


def group_members(pgid: int) -> list[int]:
  """The pids of the processes of process group `pgid` that are not zombies (dead, waiting for their
  parent to read their exit status)."""
  if not os.path.isdir("/proc"):  # Not Linux: any process of the group, zombie or not.
    try:
      os.killpg(pgid, 0)
    except ProcessLookupError:
      return []
    except PermissionError:
      pass
    return [pgid]
  members = []
  for name in os.listdir("/proc"):
    if not name.isdigit():
      continue
    try:
      with open(f"/proc/{name}/stat") as f:
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
        state, _, pgrp = f.read().rsplit(")", 1)[1].split()[:3]
    except (OSError, IndexError):
      continue  # Ended while it was read.
    if int(pgrp) == pgid and state not in ("Z", "X"):
      members.append(int(name))
  return members


def _kill_group(pgid: int, args) -> None:
  """SIGKILL to process group `pgid`; returns once its processes are gone."""
  try:
    os.killpg(pgid, signal.SIGKILL)
  except (ProcessLookupError, PermissionError):
    return  # The group is empty.
  deadline = time.monotonic() + _GONE_TIMEOUT
  while members := group_members(pgid):
    if time.monotonic() > deadline:
      raise RuntimeError(f"processes {members} of the group of {args} outlived {_GONE_TIMEOUT} s "
                         "after SIGKILL")
    time.sleep(0.01)


def kill(process: Process) -> None:
  """Kills `process` and its process group (what it started), reaps it, and returns once the group's
  processes are gone. A process already reaped had its group killed then: nothing to do."""
  if process.returncode is None:
    try:
      os.killpg(process.pid, signal.SIGKILL)  # Its pid is still its own: it is not reaped yet.
    except (ProcessLookupError, PermissionError):
      process.kill()  # Not the leader of that group any more (it cannot be, but never wait forever).
    process.wait()  # Reaps it, which kills the rest of its group (Process._handle_exitstatus).
  for scope_processes in _scopes:
    if process in scope_processes:
      scope_processes.remove(process)


def _kill_all(processes: list[Process]) -> None:
  """Kills every process of `processes` (latest first) and closes its pipes; raises the first error
  after trying them all."""
  errors = []
  for process in reversed(list(processes)):
    try:
      kill(process)
    except Exception as error:  # pylint: disable=broad-except
      errors.append(error)
    for pipe in (process.stdin, process.stdout, process.stderr):
      if pipe is not None:
        pipe.close()
  processes.clear()
  if errors:
    raise errors[0]


@contextlib.contextmanager
def scope():
  """Kills, at its exit (on success, failure or KeyboardInterrupt), the process groups of the processes
  that `start` and `run` start inside it and that no inner scope has killed."""
  started: list[Process] = []
  _scopes.append(started)
  try:
    yield started
  finally:
    _scopes.remove(started)
    _kill_all(started)


@atexit.register
def _kill_all_at_exit() -> None:
  for scope_processes in reversed(_scopes):
    _kill_all(scope_processes)


def _note_output(error: BaseException, *outputs) -> None:
  """Adds the tail of a timed-out command's output to the error's message."""
  for name, output in zip(("stdout", "stderr"), outputs):
    if output:
      text = output.decode(errors="replace") if isinstance(output, bytes) else output
      error.add_note(f"{name} at the timeout (its end):\n{text[-3000:]}")


def communicate(process: Process, input=None,  # pylint: disable=redefined-builtin
                timeout: float | None = DEFAULT_TIMEOUT):
  """process.communicate(input, timeout); a timeout (or an interrupt) first kills the process's
  group, and the error's message ends with the output so far."""
  try:
    return process.communicate(input, timeout=timeout)
  except subprocess.TimeoutExpired as error:
    kill(process)
    try:  # The whole output, now that its writers are gone.
      error.output, error.stderr = process.communicate(timeout=10)
    except (subprocess.TimeoutExpired, ValueError, OSError):
      pass
    _note_output(error, error.output, error.stderr)
    raise
  except BaseException:
    kill(process)
    raise


def wait(process: Process, timeout: float | None = DEFAULT_TIMEOUT) -> int:
  """process.wait(timeout); a timeout (or an interrupt) first kills the process's group."""
  try:
    return process.wait(timeout)
  except BaseException:
    kill(process)
    raise


def run(args, *, input=None, timeout: float | None = DEFAULT_TIMEOUT,  # pylint: disable=redefined-builtin
        check: bool = False, capture_output: bool = False, **popen) -> subprocess.CompletedProcess:
  """subprocess.run(args, ...) whose child leads its own process group, killed when the child has
  exited, has timed out (TimeoutExpired, as subprocess.run) or was interrupted: nothing it started
  outlives it. With a timeout by default (DEFAULT_TIMEOUT)."""
  if capture_output:
    popen.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
  if input is not None:
    popen["stdin"] = subprocess.PIPE
  process = start(args, **popen)
  with process:  # Closes the pipes.
    try:
      stdout, stderr = communicate(process, input, timeout)
    finally:
      kill(process)  # Whatever the child left running in its group.
  result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
  if check:
    result.check_returncode()
  return result
