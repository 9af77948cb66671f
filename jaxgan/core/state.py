"""The GAN state: one pytree of plain arrays that a train step takes and returns."""

from typing import Any

import flax
import jax

PyTree = Any


@flax.struct.dataclass
class GANState:
  """Everything that changes during training, as plain pytrees (nested dicts of arrays).

  Attributes:
    step: int32 scalar, the number of steps taken.
    key: uint32[2] PRNG key of the run; step s draws from fold_in(key, s).
    g_params: generator parameters (nnx.Param).
    g_batch_stats: generator BatchNorm running statistics (nnx.BatchStat).
    d_params: discriminator parameters.
    g_opt_state: generator optax state.
    d_opt_state: discriminator optax state.
    ema_params: exponential moving average of g_params, or None when EMA is off.
    d_sn_vectors: D's spectral-normalisation power-iteration vectors (nested like d_params, one per
      weight matrix), or None when it is off.
    nonfinite_count: int32 scalar, consecutive steps whose update was skipped as non-finite.
  """
  step: jax.Array
  key: jax.Array
  g_params: PyTree
  g_batch_stats: PyTree
  d_params: PyTree
  g_opt_state: PyTree
  d_opt_state: PyTree
  ema_params: PyTree | None
  d_sn_vectors: PyTree | None
  nonfinite_count: jax.Array

  def sampling_params(self) -> PyTree:
    """The generator weights to sample and evaluate with: the EMA when it is on."""
    return self.g_params if self.ema_params is None else self.ema_params
