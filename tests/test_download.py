"""Online TFDS preparation, offline: the download files served by a local HTTP server (a mirror)."""

import contextlib
import functools
import http.server
import json
import os
import socket
import sys
import threading
import time

import pytest

from tests import processes
from tests.conftest import REPO_ROOT
from tests.test_data import _write_tiny_idx_dir

TRAIN = [sys.executable, "-m", "experiments.mnist_gan", "--config=experiments/configs/smoke.py"]


@contextlib.contextmanager
def _serve(folder):
  """(url, requested paths) of an HTTP server on 127.0.0.1 serving `folder`."""
  requested = []

  class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
      requested.append(self.path)

  server = http.server.ThreadingHTTPServer(
      ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  try:
    yield f"http://127.0.0.1:{server.server_address[1]}/", requested
  finally:
    server.shutdown()
    server.server_close()


def _train(workdir, tfds_dir, mirror, timeout):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TFDS_DATA_DIR=str(tfds_dir),
             JAXGAN_TFDS_MIRROR=mirror, JAXGAN_MNIST_IDX_DIR="")
  start = time.perf_counter()
  result = processes.run([*TRAIN, f"--workdir={workdir}"], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=timeout, check=False)
  return result, time.perf_counter() - start


def _closed_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.mark.slow
def test_download_offline_fails_within_seconds_with_one_line(tmp_path):
  mirror = f"http://127.0.0.1:{_closed_port()}/mnist/"
  result, seconds = _train(tmp_path / "run", tmp_path / "tfds", mirror, timeout=60)
  assert result.returncode == 1 and seconds < 30, (seconds, result.stderr[-2000:])
  assert "Traceback" not in result.stderr
  line = result.stderr.strip().splitlines()[-1]
  assert line.startswith("error: TFDS mnist is not prepared in") and "cannot be downloaded offline" in line
  assert "python -m experiments.import_mnist" in line and not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.slow
def test_download_of_files_that_are_not_mnist_warns_on_checksums_and_fails_in_one_line(tmp_path):
  (tmp_path / "mirror").mkdir()
  _write_tiny_idx_dir(tmp_path / "mirror")
  with _serve(tmp_path / "mirror") as (url, requested):
    result, _ = _train(tmp_path / "run", tmp_path / "tfds", url, timeout=120)
  assert sorted(requested) == ["/t10k-images-idx3-ubyte.gz", "/t10k-labels-idx1-ubyte.gz",
                               "/train-images-idx3-ubyte.gz", "/train-labels-idx1-ubyte.gz"]
  assert result.returncode == 1 and "Traceback" not in result.stderr
  # Each file's uncompressed content is compared with the canonical MNIST file's.
  assert result.stderr.count("differs from the canonical MNIST file's") == 4
  line = result.stderr.strip().splitlines()[-1]
  assert line.startswith("error: downloading and preparing TFDS mnist in"), line


@pytest.mark.slow
def test_download_mnist_from_a_local_mirror_then_the_training_command_runs(mnist_idx_dir, tmp_path):
  with _serve(mnist_idx_dir) as (url, requested):
    result, seconds = _train(tmp_path / "run", tmp_path / "tfds", url, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  assert len(requested) == 4 and all(p.endswith("-ubyte.gz") for p in requested)
  # The image .gz files are re-compressed copies: their content is still the canonical MNIST.
  assert "differs from the canonical MNIST file's" not in result.stderr
  with open(tmp_path / "tfds" / "mnist" / "3.0.1" / "dataset_info.json") as f:
    info = json.load(f)
  assert info["fileFormat"] == "array_record"
  assert [int(s["shardLengths"][0]) for s in sorted(info["splits"], key=lambda s: s["name"])] == [
      10000, 60000]
  assert (tmp_path / "run" / "checkpoints").is_dir() and (tmp_path / "run" / "samples").is_dir()
  print(f"downloaded, prepared and trained in {seconds:.0f} s")


def test_download_of_any_tfds_dataset_by_name_fails_fast_offline_and_an_unknown_name_in_one_line(
    tmp_path):
  from jaxgan.config import schema  # pylint: disable=import-outside-toplevel
  from jaxgan.data import splits  # pylint: disable=import-outside-toplevel
  from jaxgan.errors import DataError  # pylint: disable=import-outside-toplevel
  config = schema.default_config().data
  config.dataset, config.tfds_data_dir, config.idx_dir, config.download_mirror = (
      "cifar10", str(tmp_path), "", f"http://127.0.0.1:{_closed_port()}/")
  start = time.perf_counter()
  with pytest.raises(DataError, match=r"^TFDS cifar10 is not prepared in .* cannot be downloaded "
                     r"offline \(cannot reach 127.0.0.1.*copy its folder into"):
    splits.load_split(config, "train")
  assert time.perf_counter() - start < 30
  config.dataset = "no_such_dataset"
  with pytest.raises(DataError, match="unknown TFDS dataset 'no_such_dataset'"):
    splits.load_split(config, "train")
