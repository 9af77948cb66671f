"""Test setup: 8 simulated CPU devices and strict rank promotion, before any JAX work."""

import os
import pathlib

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
# Compiled programs are cached across tests and the subprocesses they start (same flags, same program).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(REPO_ROOT / ".pytest_cache" / "jax"))

import jax  # noqa: E402  (after the cache setting, which subprocesses inherit)
import pytest  # noqa: E402

from jaxgan import parallel  # noqa: E402

parallel.relax_cpu_collective_timeouts()  # Also for the subprocesses, which inherit XLA_FLAGS.

jax.config.update("jax_num_cpu_devices", 8)
jax.config.update("jax_numpy_rank_promotion", "raise")


def skip_or_fail(reason: str):
  """Skips a test whose precondition is missing here; in CI (CI=true), where every precondition is
  set up, fails it instead, so that a green CI never hides an untested feature."""
  if os.environ.get("CI") == "true":
    pytest.fail(f"missing in CI: {reason}")
  pytest.skip(reason)


@pytest.fixture
def mnist_idx_dir():
  """The real MNIST IDX folder from JAXGAN_MNIST_IDX_DIR; tests needing it skip without it."""
  path = os.environ.get("JAXGAN_MNIST_IDX_DIR")
  if not path:
    skip_or_fail("JAXGAN_MNIST_IDX_DIR is not set")
  return path
