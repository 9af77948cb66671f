"""Layers shared by the model families: PyTorch-faithful BatchNorm, initialisers, and stride-2 convolution
forms that XLA:CPU runs on its fast kernels."""

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


_NHWC = ("NHWC", "HWIO", "NHWC")


def subpixel_conv_transpose(x_BxHxWxI: jax.Array, kernel_4x4xIxO: jax.Array) -> jax.Array:
  """`nnx.ConvTranspose(kernel_size=(4, 4), strides=(2, 2), padding="SAME")` without bias, as one
  stride-1 convolution and a pixel shuffle: x_BxHxWxI -> y_Bx2Hx2WxO.

  Output pixel (2i + a, 2j + b) sums input pixels (i + a - 1 + di, j + b - 1 + dj), di, dj in {0, 1},
  times kernel tap (2di + a, 2dj + b). So one 2x2 convolution of the input padded by 1 computes all
  four parities (a, b) at once, as 4O channels, and parity (a, b) is that output shifted by (a, b).
  XLA:CPU runs a transposed conv as a convolution over the zero-dilated input (base dilation),
  which misses its fast kernels in both directions; this form has no dilation forward or backward.
  """
  batch, height, width, channels = x_BxHxWxI.shape
  out = kernel_4x4xIxO.shape[-1]
  x_pad = jnp.pad(x_BxHxWxI, ((0, 0), (1, 1), (1, 1), (0, 0)))
  # kernel[2di + a, 2dj + b, i, o] -> [di, dj, i, (a, b, o)].
  kernel_2x2xIx4O = (kernel_4x4xIxO.reshape(2, 2, 2, 2, channels, out)
                     .transpose(0, 2, 4, 1, 3, 5).reshape(2, 2, channels, 4 * out))
  z = jax.lax.conv_general_dilated(x_pad, kernel_2x2xIx4O, (1, 1), "VALID", dimension_numbers=_NHWC)
  z_BxH1xW1x2x2xO = z.reshape(batch, height + 1, width + 1, 2, 2, out)
  rows = [jnp.stack([z_BxH1xW1x2x2xO[:, a:a + height, b:b + width, a, b] for b in (0, 1)], axis=3)
          for a in (0, 1)]  # Each B x H x W x 2(b) x O.
  return jnp.stack(rows, axis=2).reshape(batch, 2 * height, 2 * width, out)


def _xla_strided_conv(x_BxHxWxI: jax.Array, kernel_4x4xIxO: jax.Array) -> jax.Array:
  return jax.lax.conv_general_dilated(x_BxHxWxI, kernel_4x4xIxO, (2, 2), ((1, 1), (1, 1)),
                                      dimension_numbers=_NHWC)


@jax.custom_vjp
def strided_conv(x_BxHxWxI: jax.Array, kernel_4x4xIxO: jax.Array) -> jax.Array:
  """`nnx.Conv(kernel_size=(4, 4), strides=(2, 2), padding="SAME")` without bias, for even H and W:
  x_BxHxWxI -> y_BxH/2xW/2xO.

  The forward pass and the kernel gradient are XLA's own convolution. The input gradient, a
  transposed convolution of the cotangent with the spatially flipped kernel, is computed by
  `subpixel_conv_transpose` instead of XLA's base-dilated convolution.
  """
  return _xla_strided_conv(x_BxHxWxI, kernel_4x4xIxO)


def _strided_conv_fwd(x_BxHxWxI, kernel_4x4xIxO):
  return strided_conv(x_BxHxWxI, kernel_4x4xIxO), (x_BxHxWxI, kernel_4x4xIxO)


def _strided_conv_bwd(residuals, dy_BxH2xW2xO):
  x_BxHxWxI, kernel_4x4xIxO = residuals
  flipped_4x4xOxI = jnp.flip(kernel_4x4xIxO, (0, 1)).swapaxes(2, 3)
  dx = subpixel_conv_transpose(dy_BxH2xW2xO, flipped_4x4xOxI)
  _, kernel_vjp = jax.vjp(lambda k: _xla_strided_conv(x_BxHxWxI, k), kernel_4x4xIxO)
  return dx.astype(x_BxHxWxI.dtype), kernel_vjp(dy_BxH2xW2xO)[0]


strided_conv.defvjp(_strided_conv_fwd, _strided_conv_bwd)


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
