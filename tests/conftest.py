"""Test setup: 8 simulated CPU devices and strict rank promotion, before any JAX work."""

import os
import pathlib

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
# Compiled programs are cached across tests and the subprocesses they start (same flags, same program).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(REPO_ROOT / ".pytest_cache" / "jax"))

import jax  # noqa: E402  (after the cache setting, which subprocesses inherit)
import pytest  # noqa: E402

jax.config.update("jax_num_cpu_devices", 8)
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def mnist_idx_dir():
  """The real MNIST IDX folder from JAXGAN_MNIST_IDX_DIR; tests needing it skip without it."""
  path = os.environ.get("JAXGAN_MNIST_IDX_DIR")
  if not path:
    pytest.skip("JAXGAN_MNIST_IDX_DIR is not set")
  return path
