"""pytorch-fid's Inception weights: found in the cache, read from a copy brought by hand, or
downloaded once; checked, converted to Flax and cached as .npz. No torch needed.

The file is pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` (95,628,359 bytes). Its full
sha256, `SHA256` below, is the value that projects pinning this file publish (the filename's
`6726825d` is its first 8 hex digits, the prefix torch.hub checks); every copy, downloaded or
brought by hand, is checked against it before it is used. The converted weights are cached under
`disk_cache.cache_dir()/inception/` ($JAXGAN_CACHE_DIR, else $XDG_CACHE_HOME/jaxgan, else
~/.cache/jaxgan).

The .pth file is read without torch (`pth.read_pth`).
"""

import hashlib
import logging
import os
import pathlib
import socket
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request

import numpy as np

from jaxgan.errors import DataError
from jaxgan.evaluation import disk_cache
from jaxgan.evaluation.inception import convert
from jaxgan.evaluation.inception import pth as pth_file

FILENAME = "pt_inception-2015-12-05-6726825d.pth"
DEFAULT_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{FILENAME}"
SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
URL_ENV = "JAXGAN_FID_WEIGHTS_URL"
CONNECT_TIMEOUT_S = 5.0  # Resolving the host and opening the connection; offline fails within it.
READ_TIMEOUT_S = 60.0    # The longest stall of a download in progress.

_log = logging.getLogger("jaxgan")


def sha256_of(path: str | os.PathLike) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def _resolve(host: str, port: int, timeout: float) -> None:
  """Resolves `host` in a thread: getaddrinfo ignores socket timeouts and can hang offline."""
  outcome: list = []

  def lookup():
    try:
      outcome.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    except OSError as e:
      outcome.append(e)

  thread = threading.Thread(target=lookup, daemon=True)
  thread.start()
  thread.join(timeout)
  if not outcome:
    raise OSError(f"cannot resolve {host} within {timeout:g} s")
  if isinstance(outcome[0], OSError):
    raise outcome[0]


def _probe(url: str, timeout: float) -> None:
  """Raises OSError unless a TCP connection to `url`'s host (or proxy) opens within `timeout`."""
  parts = urllib.parse.urlsplit(url)
  proxy = urllib.request.getproxies().get(parts.scheme)
  if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
    parts = urllib.parse.urlsplit(proxy if "//" in proxy else f"http://{proxy}")
  port = parts.port or (443 if parts.scheme == "https" else 80)
  _resolve(parts.hostname or "", port, timeout)
  socket.create_connection((parts.hostname, port), timeout=timeout).close()


def _download(url: str, dest: pathlib.Path, timeout: float) -> str:
  """Streams `url` into `dest`; returns the sha256 of what was written."""
  if urllib.parse.urlsplit(url).scheme in ("http", "https"):
    _probe(url, timeout)
  _log.info("downloading the Inception weights for FID from %s", url)
  digest = hashlib.sha256()
  with urllib.request.urlopen(url, timeout=max(timeout, READ_TIMEOUT_S)) as response:
    with open(dest, "wb") as out:
      for block in iter(lambda: response.read(1 << 20), b""):
        digest.update(block)
        out.write(block)
  return digest.hexdigest()


def _cache_file(cache: pathlib.Path, sha256: str) -> pathlib.Path:
  return cache / "inception" / f"pt_inception-2015-12-05-{sha256[:8]}.npz"


def _load_cached(path: pathlib.Path, sha256: str) -> tuple[dict, dict] | None:
  """The cached (params, batch_stats); None if absent, unreadable or made from another file."""
  arrays = disk_cache.load_npz(path)
  if arrays is None or str(arrays.get("source_sha256")) != sha256:
    return None
  params = convert.unflatten({k[7:]: v for k, v in arrays.items() if k.startswith("params/")})
  stats = convert.unflatten({k[12:]: v for k, v in arrays.items() if k.startswith("batch_stats/")})
  return params, stats


def save_cache(params: dict, batch_stats: dict, sha256: str = SHA256,
               cache: str | os.PathLike | None = None) -> pathlib.Path:
  """Caches converted weights as those of the .pth file with `sha256`; returns the cache file."""
  path = _cache_file(pathlib.Path(cache) if cache is not None else disk_cache.cache_dir(), sha256)
  arrays = {"source_sha256": np.array(sha256)}
  arrays.update({f"params/{k}": v for k, v in convert.flatten(params).items()})
  arrays.update({f"batch_stats/{k}": v for k, v in convert.flatten(batch_stats).items()})
  disk_cache.save_npz(path, arrays)
  return path


def _convert_and_cache(pth: str | os.PathLike, sha256: str, cache: pathlib.Path):
  params, stats = convert.to_flax(pth_file.read_pth(pth))
  try:
    save_cache(params, stats, sha256, cache)
  except OSError as e:
    _log.warning("cannot cache the converted Inception weights in %s: %s", cache,
                 e.strerror or e)
  return params, stats


def _check_sha(path: str | os.PathLike, got: str, expected: str) -> None:
  if got != expected:
    raise DataError(f"{path}: sha256 {got[:16]}..., expected {expected[:16]}...: not pytorch-fid's "
                    f"{FILENAME}; nothing cached")


def load(path: str | os.PathLike | None = None, *, url: str | None = None,
         sha256: str = SHA256, cache: str | os.PathLike | None = None,
         timeout: float = CONNECT_TIMEOUT_S) -> tuple[dict, dict]:
  """pytorch-fid's Inception weights as Flax (params, batch_stats) nested dicts.

  Args:
    path: a copy of the .pth brought by hand (`--fid_weights=PATH`); checked, converted and cached.
    url: where to download it from when neither `path` nor the cache has it (default: $URL_ENV,
      else pytorch-fid's release).
    sha256: the file's expected sha256.
    cache: the cache folder (default: `disk_cache.cache_dir()`).
    timeout: seconds to resolve and reach the download host before giving up.

  Raises:
    DataError: a bad checksum or file, or no cached copy, no path and no download (one line).
  """
  cache = pathlib.Path(cache) if cache is not None else disk_cache.cache_dir()
  cache_path = _cache_file(cache, sha256)
  if path is not None:
    if not os.path.isfile(path):
      raise DataError(f"--fid_weights={path}: no such file (pytorch-fid's {FILENAME})")
    _check_sha(path, sha256_of(path), sha256)
    return _convert_and_cache(path, sha256, cache)
  cached = _load_cached(cache_path, sha256)
  if cached is not None:
    return cached
  url = url or os.environ.get(URL_ENV) or DEFAULT_URL
  try:  # Beside the cache, so that nothing is half-written there; else the system's temp folder.
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_path.parent, suffix=".pth.part")
  except OSError:
    fd, tmp = tempfile.mkstemp(suffix=".pth.part")
  os.close(fd)
  try:
    try:
      got = _download(url, pathlib.Path(tmp), timeout)
    except (OSError, urllib.error.URLError, ValueError) as e:
      reason = str(getattr(e, "reason", None) or e).strip().split("\n", 1)[0] or type(e).__name__
      raise DataError(
          f"no Inception weights for FID: none cached in {cache_path.parent}, and the download "
          f"from {url} failed ({reason}); fetch {FILENAME} by hand and pass "
          f"--fid_weights=PATH (or set {URL_ENV} to a mirror)") from e
    _check_sha(url, got, sha256)
    return _convert_and_cache(tmp, sha256, cache)
  finally:
    os.unlink(tmp)
