"""Layers shared by the model families: PyTorch-faithful BatchNorm, initialisers, a fast transposed conv."""

import math

import jax
import jax.numpy as jnp
from flax import nnx


def torch_uniform_init(fan_in: int) -> nnx.initializers.Initializer:
  """U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default for Linear/Conv weights and biases."""
  bound = 1.0 / math.sqrt(fan_in)

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


INITS = ("torch", "normal")  # config.model.init


def dense_inits(init: str, fan_in: int) -> dict:
  """kernel_init/bias_init keyword arguments for a layer with `fan_in` inputs.

  Args:
    init: "torch" (PyTorch's default uniform) or "normal" (DCGAN's N(0, 0.02), zero bias).
    fan_in: number of inputs feeding one output unit.
  """
  if init == "torch":
    return dict(kernel_init=torch_uniform_init(fan_in), bias_init=torch_uniform_init(fan_in))
  if init == "normal":
    return dict(kernel_init=nnx.initializers.normal(0.02), bias_init=nnx.initializers.zeros_init())
  raise ValueError(f"unknown init {init!r}; expected 'torch' or 'normal'")


# For output phase a (row or column parity), the (offset into the input padded by 1, kernel index) pairs
# that a stride-2, 4-wide, SAME transposed convolution sums over.
_PHASE_TAPS = {0: ((0, 0), (1, 2)), 1: ((1, 1), (2, 3))}


def subpixel_conv_transpose(x_BxHxWxI: jax.Array, kernel_4x4xIxO: jax.Array) -> jax.Array:
  """`nnx.ConvTranspose(kernel_size=(4, 4), strides=(2, 2), padding="SAME")` without bias, as four
  dense matmuls: x_BxHxWxI -> y_Bx2Hx2WxO.

  Each output pixel parity (a, b) sees a 2x2 subset of the kernel taps, so the transposed conv is
  four ordinary 2x2 convolutions, one per phase, interleaved. Unlike XLA:CPU's transposed conv
  (a conv over the zero-dilated input), it multiplies no zeros, and its gradients are matmuls too:
  several times faster on CPU when there are many output channels.
  """
  batch, height, width, _ = x_BxHxWxI.shape
  x_pad = jnp.pad(x_BxHxWxI, ((0, 0), (1, 1), (1, 1), (0, 0)))
  rows = []
  for a in (0, 1):
    phases = []
    for b in (0, 1):
      taps = [(oi, oj, ki, kj) for oi, ki in _PHASE_TAPS[a] for oj, kj in _PHASE_TAPS[b]]
      patches_BxHxWx4I = jnp.concatenate(
          [x_pad[:, oi:oi + height, oj:oj + width, :] for oi, oj, _, _ in taps], axis=-1)
      kernel_4IxO = jnp.concatenate([kernel_4x4xIxO[ki, kj] for _, _, ki, kj in taps], axis=0)
      phases.append(patches_BxHxWx4I @ kernel_4IxO)
    rows.append(jnp.stack(phases, axis=3))  # B x H x W x 2(b) x O
  y_BxHx2xWx2xO = jnp.stack(rows, axis=2)
  return y_BxHx2xWx2xO.reshape(batch, 2 * height, 2 * width, -1)


def projection_logits(out: nnx.Linear, embed: nnx.Embed | None, h_BxF: jax.Array,
                      labels_B: jax.Array | None) -> jax.Array:
  """A discriminator's float32 logit_B from its features: `out(h)`, plus `<embed(y), h>` for a
  class-conditional one (the projection discriminator of Miyato & Koyama)."""
  logit_B = out(h_BxF)[:, 0]
  if embed is not None:
    logit_B = logit_B + jnp.sum(embed(labels_B) * h_BxF, axis=-1)
  return logit_B.astype(jnp.float32)


class BatchNorm(nnx.Module):
  """BatchNorm over all axes but the last, matching PyTorch's BatchNorm1d/2d exactly.

  Training mode normalises with the biased batch variance (two-pass) and updates the running variance
  with the unbiased one, as PyTorch does. `momentum` is PyTorch's (weight of the new batch).
  Statistics are computed in float32 whatever the compute dtype.
  """

  def __init__(self, num_features: int, *, momentum: float = 0.1, epsilon: float = 1e-5):
    self.momentum = momentum
    self.epsilon = epsilon
    self.scale = nnx.Param(jnp.ones((num_features,), jnp.float32))
    self.bias = nnx.Param(jnp.zeros((num_features,), jnp.float32))
    self.mean = nnx.BatchStat(jnp.zeros((num_features,), jnp.float32))
    self.var = nnx.BatchStat(jnp.ones((num_features,), jnp.float32))

  def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
    x32 = x.astype(jnp.float32)
    if train:
      axes = tuple(range(x.ndim - 1))
      count = math.prod(x.shape[:-1])
      mean = jnp.mean(x32, axes)
      var = jnp.mean(jnp.square(x32 - jnp.expand_dims(mean, axes)), axes)
      m = self.momentum
      self.mean.set_value((1 - m) * self.mean[...] + m * mean)
      self.var.set_value((1 - m) * self.var[...] + m * var * (count / max(count - 1, 1)))
    else:
      mean, var = self.mean[...], self.var[...]
    features = (1,) * (x.ndim - 1) + (-1,)  # Explicit broadcast over all axes but the last.
    y = ((x32 - mean.reshape(features)) * jax.lax.rsqrt(var + self.epsilon).reshape(features)
         * self.scale[...].reshape(features) + self.bias[...].reshape(features))
    return y.astype(x.dtype)
