"""The user's cache folder and the files kept in it, written atomically.

Each cached file is named by what it was computed from, so a stale one is never read; one that
is missing or unreadable costs only its computation.
"""

import os
import pathlib
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from typing import BinaryIO

import numpy as np

CACHE_ENV = "JAXGAN_CACHE_DIR"


def cache_dir() -> pathlib.Path:
  """$JAXGAN_CACHE_DIR, else $XDG_CACHE_HOME/jaxgan, else ~/.cache/jaxgan."""
  if os.environ.get(CACHE_ENV):
    return pathlib.Path(os.environ[CACHE_ENV]).expanduser()
  base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
  return pathlib.Path(base) / "jaxgan"


def write_atomically(path: pathlib.Path, write: Callable[[BinaryIO], None]) -> None:
  """Calls `write` on a temporary file in `path`'s folder, then renames it to `path`, so that a
  reader, or another process writing the same file, never sees half of it."""
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
  try:
    with os.fdopen(fd, "wb") as f:
      write(f)
    os.replace(tmp, path)
  except BaseException:
    os.unlink(tmp)
    raise


def save_npz(path: pathlib.Path, arrays: Mapping[str, np.ndarray]) -> None:
  """Writes `arrays` to the .npz at `path` atomically (`write_atomically`)."""
  write_atomically(path, lambda f: np.savez(f, **arrays))


def load_npz(path: pathlib.Path) -> dict[str, np.ndarray] | None:
  """Every array of the .npz at `path`; None if it is absent or unreadable."""
  try:
    with np.load(path, allow_pickle=False) as npz:
      return {name: npz[name] for name in npz.files}
  except (OSError, ValueError, zipfile.BadZipFile, EOFError):
    return None
