"""Comparing GAN states reached on different device layouts (test helper).

A bias that feeds a BatchNorm has an exactly zero gradient (the BatchNorm subtracts the batch mean), so Adam
scales the rounding residue of that zero into full-size steps whose sign depends on the order of the batch
sums, which differs with the device layout. In the MLP those biases, and the running means of the
BatchNorms they feed, are rounding noise on any layout; they cancel in the BatchNorm, and are compared
loosely. The DCGAN's layers before a BatchNorm have no bias, so all of its state is compared tightly.
"""

import re

import jax
import numpy as np

_PRE_BATCHNORM = re.compile(
    r"^\.(g_params|ema_params)\['linears'\]\[\d+\]\['bias'\]$"
    r"|^\.g_batch_stats\['norms'\]\[\d+\]\['mean'\]$")


def max_abs_diff(tree_a, tree_b) -> float:
  """The largest |a - b| over all leaves of two pytrees of the same structure."""
  leaves_a, leaves_b = jax.tree.leaves(jax.device_get(tree_a)), jax.tree.leaves(jax.device_get(tree_b))
  assert len(leaves_a) == len(leaves_b) > 0
  return max(float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
             for a, b in zip(leaves_a, leaves_b))


def assert_same_state(state_a, state_b, atol: float = 1e-5, noise_atol: float = 1e-3) -> None:
  """Every leaf of two GANStates within `atol`; the MLP's pre-BatchNorm biases and the running means
  they feed within `noise_atol`."""
  flat_a = jax.tree_util.tree_flatten_with_path(jax.device_get(state_a))[0]
  flat_b = jax.tree_util.tree_flatten_with_path(jax.device_get(state_b))[0]
  assert [p for p, _ in flat_a] == [p for p, _ in flat_b]
  noise = 0
  for (path, a), (_, b) in zip(flat_a, flat_b):
    name = jax.tree_util.keystr(path)
    is_noise = bool(_PRE_BATCHNORM.search(name))
    noise += is_noise
    diff = max_abs_diff(a, b)
    assert diff <= (noise_atol if is_noise else atol), f"{name} differs by {diff}"
  assert noise < len(flat_a) // 4
