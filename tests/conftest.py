"""Test setup: 8 simulated CPU devices and strict rank promotion, before any JAX work."""

import functools
import gzip
import os
import pathlib
import struct

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
# Compiled programs are cached across tests and the subprocesses they start (same flags, same program).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(REPO_ROOT / ".pytest_cache" / "jax"))
# So are the evaluators' real references (jaxgan/evaluation/reference_cache.py), out of the user's.
os.environ.setdefault("JAXGAN_CACHE_DIR", str(REPO_ROOT / ".pytest_cache" / "jaxgan"))
# Most test programs run a few times, so compiling them dominates: LLVM's O1 compiles them faster than
# its default O2 (the suite in about 0.85 of the time), at little cost to the long ones.
_XLA_FLAGS = os.environ.get("XLA_FLAGS", "")
if "--xla_backend_optimization_level=" not in _XLA_FLAGS:
  os.environ["XLA_FLAGS"] = f"{_XLA_FLAGS} --xla_backend_optimization_level=1".strip()

import jax  # noqa: E402  (after the cache settings, which subprocesses inherit)
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from jaxgan import parallel  # noqa: E402
from tests import processes  # noqa: E402

parallel.relax_cpu_collective_timeouts()  # Also for the subprocesses, which inherit XLA_FLAGS.
parallel.enable_compilation_cache()  # As the commands do: the tests' programs of 0.1 s and more too.

jax.config.update("jax_num_cpu_devices", 8)
jax.config.update("jax_numpy_rank_promotion", "raise")
TINY_IDX_IMAGES = 200  # Random images in `tiny_idx_dir`: 12 steps an epoch at the smoke config's batch 16.


@pytest.fixture(scope="module", autouse=True)
def _kill_the_processes_of_each_module():
  """The processes that a module's fixtures start (runs that its tests share) and that are still running
  when the module ends, pass or fail, are killed with their process groups (tests/processes.py).
  Autouse: set up before the module's other fixtures, torn down after them."""
  with processes.scope():
    yield


@pytest.fixture(autouse=True)
def _kill_the_processes_of_each_test():
  """The processes that a test and its function fixtures start and that are still running when it ends,
  pass or fail, are killed with their process groups (tests/processes.py)."""
  with processes.scope():
    yield


@pytest.fixture
def one_device(monkeypatch):
  """Training in this test runs on one of the 8 devices: for tests of what a run learns, not of how
  it is split (8 simulated devices on 2 cores make each step about 1.6 times slower)."""
  monkeypatch.setattr(parallel, "make_mesh", functools.partial(parallel.make_mesh, 1))


def skip_or_fail(reason: str):
  """Skips a test whose precondition is missing here; in CI (CI=true), where every precondition is
  set up, fails it instead, so that a green CI never hides an untested feature."""
  if os.environ.get("CI") == "true":
    pytest.fail(f"missing in CI: {reason}")
  pytest.skip(reason)


# Debian's dataset-fashion-mnist package installs the four IDX .gz files here.
FASHION_DIR = os.environ.get("JAXGAN_FASHION_MNIST_IDX_DIR", "/usr/share/datasets/fashion-mnist")


@pytest.fixture
def fashion_idx_dir():
  """The real Fashion-MNIST IDX folder; tests needing it skip without it (fail in CI)."""
  if not os.path.isfile(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz")):
    skip_or_fail(f"no Fashion-MNIST IDX files in {FASHION_DIR} (apt-get install "
                 "dataset-fashion-mnist, or set JAXGAN_FASHION_MNIST_IDX_DIR)")
  return FASHION_DIR


@pytest.fixture
def mnist_idx_dir():
  """The real MNIST IDX folder from JAXGAN_MNIST_IDX_DIR; tests needing it skip without it."""
  path = os.environ.get("JAXGAN_MNIST_IDX_DIR")
  if not path:
    skip_or_fail("JAXGAN_MNIST_IDX_DIR is not set")
  return path


def write_idx(path, array: np.ndarray) -> None:
  """An IDX .gz file of a uint8 array, as MNIST ships them."""
  header = bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
  with gzip.open(path, "wb") as f:
    f.write(header + array.astype(np.uint8).tobytes())


def write_tiny_idx_dir(path, num_images: int = TINY_IDX_IMAGES) -> str:
  """Writes four IDX files of `num_images` random 28x28 images (train and test) to `path`."""
  os.makedirs(path, exist_ok=True)
  rng = np.random.default_rng(0)
  for images_name, labels_name in (("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                                   ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")):
    write_idx(os.path.join(path, images_name), rng.integers(0, 256, (num_images, 28, 28)))
    write_idx(os.path.join(path, labels_name), rng.integers(0, 10, (num_images,)))
  return str(path)


@pytest.fixture(scope="module")
def tiny_idx_dir(tmp_path_factory):
  """Four IDX files of TINY_IDX_IMAGES random 28x28 images (train and test)."""
  return write_tiny_idx_dir(tmp_path_factory.mktemp("idx"))
