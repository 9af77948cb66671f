"""Online TFDS preparation: TFDS downloads a dataset once and writes it as array_record.

Any TFDS dataset is prepared through its stock builder, with TFDS's own download machinery. Before
each download, the host it goes to (or the HTTP proxy in between) is probed with a short connect:
without a network the preparation fails at once, instead of after TFDS's long network timeouts.

Checksums. From the dataset's own URLs, TFDS checks each download against its registered size and
sha256 and refuses a mismatch. From a mirror (`mirror`, a URL prefix that serves the same file
names), TFDS's registered checksums do not apply (they are keyed by the canonical URLs): each
download's size and sha256 are logged, and for MNIST the uncompressed files are compared with the
canonical MNIST files, a mismatch being a warning, as in the offline IDX import (a mirror may
re-compress the files).
"""

import gzip
import hashlib
import logging
import os
import socket
import urllib.parse
import urllib.request

import jax
import tensorflow_datasets as tfds

from jaxgan.data import tfds_offline
from jaxgan.errors import DataError

log = logging.getLogger(__name__)
MIRROR_ENV = "JAXGAN_TFDS_MIRROR"  # The machine's mirror when the config leaves it empty.
PROBE_TIMEOUT_S = 5.0


class OfflineError(DataError):
  """The host of a download (or its proxy) cannot be reached."""


def _probe(url: str) -> None:
  """Raises OfflineError unless a TCP connection to `url`'s host (or its proxy) opens in seconds."""
  parts = urllib.parse.urlsplit(url)
  proxy = urllib.request.getproxies().get(parts.scheme)
  if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
    parts = urllib.parse.urlsplit(proxy if "//" in proxy else f"http://{proxy}")
  port = parts.port or (443 if parts.scheme == "https" else 80)
  try:
    socket.create_connection((parts.hostname, port), timeout=PROBE_TIMEOUT_S).close()
  except OSError as e:
    raise OfflineError(f"cannot reach {parts.hostname}:{port}: {e}") from e


def _sha256(path: str, uncompressed: bool = False) -> str:
  """The file's sha256; with `uncompressed`, that of its gunzipped content when it is gzip."""
  with open(path, "rb") as f:
    is_gzip = f.read(2) == b"\x1f\x8b"
  digest = hashlib.sha256()
  with (gzip.open if uncompressed and is_gzip else open)(path, "rb") as f:
    while chunk := f.read(1 << 20):
      digest.update(chunk)
  return digest.hexdigest()


class _Downloads:
  """A TFDS download manager whose downloads are probed first and, with a mirror, fetched from it."""

  def __init__(self, dl_manager, dataset: str, mirror: str):
    self._dl, self._dataset, self._mirror = dl_manager, dataset, mirror.rstrip("/")
    self._probed = set()

  def __getattr__(self, name):
    return getattr(self._dl, name)

  def _url(self, url: str) -> str:
    if not self._mirror:
      return url
    return f"{self._mirror}/{os.path.basename(urllib.parse.urlsplit(url).path)}"

  def _rewrite(self, url_or_resource):
    if isinstance(url_or_resource, tfds.download.Resource):
      return tfds.download.Resource(url=self._url(url_or_resource.url),
                                    extract_method=url_or_resource.extract_method)
    url = self._url(url_or_resource)
    host = urllib.parse.urlsplit(url).netloc
    if host not in self._probed:
      _probe(url)
      self._probed.add(host)
    return url

  def _check(self, urls, paths) -> None:
    """Logs each mirrored file's size and sha256; for MNIST, compares the uncompressed content."""
    for url, path in zip(jax.tree.leaves(urls), jax.tree.leaves(paths)):
      path = os.fspath(path)
      if not (self._mirror and os.path.isfile(path)):
        continue
      name = os.path.basename(urllib.parse.urlsplit(getattr(url, "url", url)).path)
      sha256 = _sha256(path)
      log.info("downloaded %s from %s: %d bytes, sha256 %s", name, self._mirror,
               os.path.getsize(path), sha256)
      expected = tfds_offline.MNIST_SHA256.get(name) if self._dataset == "mnist" else None
      if expected and (found := _sha256(path, uncompressed=True)) != expected:
        log.warning("%s from %s: uncompressed sha256 %s differs from the canonical MNIST file's %s",
                    name, self._mirror, found, expected)

  def download(self, url_or_urls):
    return self._fetch(self._dl.download, url_or_urls)

  def download_and_extract(self, url_or_urls):
    return self._fetch(self._dl.download_and_extract, url_or_urls)

  def _fetch(self, method, url_or_urls):
    urls = jax.tree.map(self._rewrite, url_or_urls)
    paths = method(urls)
    self._check(urls, paths)
    return paths


def _builder(dataset: str, data_dir: str, mirror: str):
  """The stock builder of `dataset`, its downloads going through `_Downloads`."""
  try:
    stock_cls = tfds.builder_cls(dataset)
  except Exception as e:  # TFDS raises several kinds for an unknown name.
    raise DataError(f"unknown TFDS dataset {dataset!r}: {(str(e).splitlines() or [''])[0]}") from e

  def split_generators(self, dl_manager, *args, **kwargs):
    return stock_cls._split_generators(self, _Downloads(dl_manager, dataset, mirror), *args,
                                       **kwargs)  # pylint: disable=protected-access

  cls = type(stock_cls.__name__, (stock_cls,),
             dict(name=stock_cls.name, __module__=stock_cls.__module__,
                  _split_generators=split_generators), skip_registration=True)
  return cls(data_dir=data_dir)


def prepare(dataset: str, data_dir: str, mirror: str = "") -> None:
  """Downloads `dataset` (from `mirror`, else $JAXGAN_TFDS_MIRROR, when set) and prepares it in
  `data_dir` as array_record.

  Raises:
    OfflineError: a download's host cannot be reached (within seconds).
    DataError: the dataset is unknown, or its download or preparation failed (one line).
  """
  mirror = mirror or os.environ.get(MIRROR_ENV, "")
  builder = _builder(dataset, data_dir, mirror)
  tfds_offline.hide_accelerators_from_tensorflow()
  log.info("Downloading and preparing TFDS %s in %s (once)%s.", dataset, data_dir,
           f" from {mirror}" if mirror else "")
  try:
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False),
        file_format=tfds_offline.FILE_FORMAT)
  except DataError:
    raise
  except Exception as e:  # A failed download or generation, in any of TFDS's many error types.
    first_line = (str(e).strip().splitlines() or [""])[0]
    raise DataError(f"downloading and preparing TFDS {dataset} in {data_dir} failed: "
                    f"{type(e).__name__}: {first_line}") from e
