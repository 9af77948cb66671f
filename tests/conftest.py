"""Test setup: 8 simulated CPU devices and strict rank promotion, before any JAX work."""

import os
import pathlib

import jax
import pytest

jax.config.update("jax_num_cpu_devices", 8)
jax.config.update("jax_numpy_rank_promotion", "raise")

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def mnist_idx_dir():
  """The real MNIST IDX folder from JAXGAN_MNIST_IDX_DIR; tests needing it skip without it."""
  path = os.environ.get("JAXGAN_MNIST_IDX_DIR")
  if not path:
    pytest.skip("JAXGAN_MNIST_IDX_DIR is not set")
  return path
