"""The run directory: its layout (config.json, checkpoint folders), its checks, one training run at a
time (a lock), and files written atomically.

A file that a later command reads back is written whole or not at all: to a temporary file in the
same folder, then renamed over the target, so a kill at any byte leaves the previous version.
"""

import contextlib
import json
import logging
import os
import socket
import tempfile
import threading
import time

import ml_collections

from jaxgan.config import schema
from jaxgan.errors import CheckpointError, ConfigError, JaxganError

log = logging.getLogger(__name__)
LOCK_FILE = ".jaxgan.lock"
CONFIG_FILE = "config.json"  # The resolved config of the run.
EVAL_FILE = "eval.json"  # The final evaluation (`evaluate` writes it too).
EVAL_INCEPTION_FILE = "eval_inception.json"  # `evaluate --features=inception`.
LATEST_DIR, BEST_DIR = "checkpoints", "checkpoints_best"  # Checkpoints: the latest steps, the best.
# A lock held from another host counts as stale once its holder has not renewed it for this long.
LEASE_SECONDS = 600.0
# The process's umask, read once at import: os.umask can only be read by setting it, which would race
# with threads that create files.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def prepare(workdir: str) -> str:
  """Creates `workdir` if needed and checks that files can be written in it; returns its absolute path.

  Raises:
    ConfigError: it is empty, a file, under a file, or not writable (one line naming it).
  """
  if not workdir:
    raise ConfigError("--workdir: empty; give the directory for checkpoints, samples and logs")
  path = os.path.abspath(workdir)
  try:
    os.makedirs(path, exist_ok=True)
    with tempfile.TemporaryFile(dir=path):
      pass
  except OSError as e:
    reason = "it is a file" if os.path.isfile(path) else e.strerror or str(e)
    raise ConfigError(f"--workdir={workdir}: cannot write there: {reason}") from e
  return path


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "w"):
  """`open(path, mode)` for writing, whose content replaces `path` only once it is complete; the
  file's permissions are those `open` gives a new file (0666 less the umask)."""
  folder = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
  try:
    with os.fdopen(fd, mode) as f:
      os.fchmod(f.fileno(), 0o666 & ~_UMASK)  # mkstemp makes it 0600.
      yield f
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(OSError):
      os.remove(tmp)
    raise


def write_json(path: str, record) -> None:
  """Writes `record` as indented JSON to `path`, atomically."""
  with atomic_open(path) as f:
    json.dump(record, f, indent=2, sort_keys=True)
    f.write("\n")


def _pid_alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # Alive, under another user.
    return True
  return True


class RunLock:
  """WORKDIR/.jaxgan.lock: the host and PID of the one training run that writes the workdir.

  `acquire` takes it, or raises when a live run holds it. A lock whose holder is gone (killed,
  the machine lost power) does not block: on the same host its PID is no longer alive; from another
  host, its lease (the file's mtime) is older than LEASE_SECONDS. While it is held, a background
  thread renews the lease every `renew_seconds`.
  """

  def __init__(self, workdir: str, renew_seconds: float = 60.0):
    self.path = os.path.join(workdir, LOCK_FILE)
    self.held = False
    self.renew_seconds = renew_seconds
    self._released = threading.Event()

  def _holder(self) -> dict | None:
    """The holder's record, or None when the lock is free or stale (then it is removed)."""
    try:
      with open(self.path) as f:
        holder = json.load(f)
      age = time.time() - os.stat(self.path).st_mtime
      host, pid = holder["host"], int(holder["pid"])
    except FileNotFoundError:
      return None
    except (OSError, ValueError, KeyError, TypeError):
      holder, host, pid, age = None, None, None, None  # Unreadable: written by no jaxgan run.
    stale = holder is None or (
        not _pid_alive(pid) if host == socket.gethostname() else age > LEASE_SECONDS)
    if stale:
      log.warning("removing the stale lock %s%s", self.path,
                  f" of pid {pid} on {host}, which is gone" if holder else " (unreadable)")
      with contextlib.suppress(FileNotFoundError):
        os.remove(self.path)
      return None
    return holder

  def acquire(self) -> None:
    """Takes the lock.

    Raises:
      ConfigError: another live run holds it (names its host and PID).
    """
    record = dict(host=socket.gethostname(), pid=os.getpid(), started=time.time())
    for _ in range(3):  # A stale lock is removed, then taken again.
      fd, tmp = tempfile.mkstemp(dir=os.path.dirname(self.path), prefix=".lock.", suffix=".tmp")
      with os.fdopen(fd, "w") as f:
        json.dump(record, f)
      try:
        os.link(tmp, self.path)  # Atomic, and fails when the lock exists: the record is whole.
        self.held = True
        threading.Thread(target=self._keep_renewing, name="jaxgan-lock-lease", daemon=True).start()
        return
      except FileExistsError:
        holder = self._holder()
        if holder is not None:
          raise ConfigError(
              f"--workdir={os.path.dirname(self.path)} is in use by a training run on "
              f"{holder['host']} (pid {holder['pid']}); wait for it to end, or use another "
              "--workdir") from None
      finally:
        os.remove(tmp)
    raise JaxganError(f"cannot take the lock {self.path}: other runs keep taking it")

  def _keep_renewing(self) -> None:
    while not self._released.wait(self.renew_seconds):
      self.renew()

  def renew(self) -> None:
    """Renews the lease (the lock's mtime), for hosts that cannot see this process."""
    if self.held:
      with contextlib.suppress(OSError):
        os.utime(self.path)

  def release(self) -> None:
    self._released.set()
    if self.held:
      with contextlib.suppress(FileNotFoundError):
        os.remove(self.path)
      self.held = False


def write_config(workdir: str, config: ml_collections.ConfigDict) -> None:
  """WORKDIR/config.json: the run's resolved config, written atomically."""
  with atomic_open(os.path.join(workdir, CONFIG_FILE)) as f:
    f.write(config.to_json_best_effort(indent=2, sort_keys=True) + "\n")


def load_config(workdir: str) -> ml_collections.ConfigDict:
  """The resolved config a run saved in WORKDIR/config.json, over the defaults of the fields that
  the run's version of jaxgan did not have yet (each new field's default keeps the old behaviour)."""
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.isfile(path):
    raise CheckpointError(f"{path} not found; is {workdir} the workdir of a training run?")
  try:
    with open(path) as f:
      return config_from_saved(json.load(f))
  except (OSError, ValueError, TypeError) as e:
    raise CheckpointError(f"{path} cannot be read ({type(e).__name__}: {e}); it is rewritten by the "
                          "next training run in that workdir") from e


def config_from_saved(saved: dict) -> ml_collections.ConfigDict:
  """A saved config (a run's config.json, a pretrained generator's) over the defaults of the fields
  that the version of jaxgan that saved it did not have yet."""
  config = schema.default_config()
  config.sampling = "running"  # What a run saved before the sampling setting used.
  with config.unlocked():
    _merge(config, saved)
  return config


def _merge(config: ml_collections.ConfigDict, saved: dict) -> None:
  for name, value in saved.items():
    if isinstance(value, dict) and isinstance(config.get(name), ml_collections.ConfigDict):
      _merge(config[name], value)
    else:
      config[name] = tuple(value) if isinstance(value, list) else value


def write_eval_json(workdir: str, record: dict, features: str = "classifier") -> str:
  """Writes `record` to WORKDIR/eval.json (eval_inception.json for Inception features), atomically;
  returns the path."""
  path = os.path.join(workdir, EVAL_FILE if features == "classifier" else EVAL_INCEPTION_FILE)
  write_json(path, record)
  return path
