"""A 28x28 DCGAN: conv-transpose generator with BatchNorm+ReLU, conv discriminator with LeakyReLU.

`stages=3` adds a stride-1 3x3 conv stage at 7x7 (4w features) to both networks.
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from jaxgan.models.layers import (BatchNorm, dense_inits, projection_logits, strided_conv,
                                  subpixel_conv_transpose)


def _add_bias(layer: nnx.Conv | nnx.ConvTranspose, y_BxHxWxO: jax.Array) -> jax.Array:
  if layer.bias is None:
    return y_BxHxWxO
  return y_BxHxWxO + layer.bias[...].astype(layer.dtype).reshape(1, 1, 1, -1)


def _conv_transpose(layer: nnx.ConvTranspose, x: jax.Array) -> jax.Array:
  """`layer(x)` for a 4x4, stride-2, SAME transposed conv, through `subpixel_conv_transpose`."""
  return _add_bias(layer, subpixel_conv_transpose(x.astype(layer.dtype),
                                                 layer.kernel[...].astype(layer.dtype)))


def _strided_conv(layer: nnx.Conv, x: jax.Array) -> jax.Array:
  """`layer(x)` for a 4x4, stride-2, SAME conv on an even-sized input, through `strided_conv`."""
  return _add_bias(layer, strided_conv(x.astype(layer.dtype), layer.kernel[...].astype(layer.dtype)))


class Generator(nnx.Module):
  """z_BxZ -> Linear to 7x7x(2w) [or 7x7x(4w) -> Conv3x3 to 7x7x(2w)] -> ConvT to 14x14x(w) -> ConvT
  to 28x28xC logits."""

  def __init__(self, *, image_shape: Sequence[int], latent_dim: int = 64, width: int = 64,
               stages: int = 2, num_classes: int = 0, init: str = "normal", dtype=jnp.float32,
               rngs: nnx.Rngs):
    height, _, channels = image_shape
    self.image_shape = tuple(image_shape)
    self.latent_dim = latent_dim
    self.num_classes = num_classes
    self.base = height // 4
    self.width = width
    self.embed = nnx.Embed(num_classes, latent_dim, rngs=rngs) if num_classes else None
    in_dim = latent_dim * (2 if num_classes else 1)
    self.base_channels = (4 if stages == 3 else 2) * width
    base_features = self.base * self.base * self.base_channels
    # No bias before a BatchNorm: it would cancel it (its true gradient is zero).
    self.fc = nnx.Linear(in_dim, base_features, use_bias=False, dtype=dtype, rngs=rngs,
                         **dense_inits(init, in_dim))
    self.norm0 = BatchNorm(base_features)
    self.conv0 = nnx.Conv(4 * width, 2 * width, (3, 3), padding="SAME", use_bias=False,
                          dtype=dtype, rngs=rngs,
                          **dense_inits(init, 9 * 4 * width)) if stages == 3 else None
    self.norm_c = BatchNorm(2 * width) if stages == 3 else None
    self.up1 = nnx.ConvTranspose(2 * width, width, (4, 4), strides=(2, 2), padding="SAME",
                                 use_bias=False, dtype=dtype, rngs=rngs, **dense_inits(init, 16 * 2 * width))
    self.norm1 = BatchNorm(width)
    self.up2 = nnx.ConvTranspose(width, channels, (4, 4), strides=(2, 2), padding="SAME",
                                 dtype=dtype, rngs=rngs, **dense_inits(init, 16 * width))

  def __call__(self, z_BxZ: jax.Array, labels_B: jax.Array | None = None, *,
               train: bool = True) -> jax.Array:
    h = z_BxZ
    if self.embed is not None:
      h = jnp.concatenate([h, self.embed(labels_B)], axis=-1)
    h = jax.nn.relu(self.norm0(self.fc(h), train=train))
    h = h.reshape((h.shape[0], self.base, self.base, self.base_channels))
    if self.conv0 is not None:
      h = jax.nn.relu(self.norm_c(self.conv0(h), train=train))
    # The layers' own maths in forms that XLA:CPU runs fast (benchmarks/README.md).
    h = jax.nn.relu(self.norm1(_conv_transpose(self.up1, h), train=train))
    return _conv_transpose(self.up2, h).astype(jnp.float32)


class Discriminator(nnx.Module):
  """img_BxHxWxC -> Conv(w, stride 2) -> Conv(2w, stride 2) [-> Conv3x3(4w)] -> Linear -> logit_B,
  LeakyReLU(0.2)."""

  def __init__(self, *, image_shape: Sequence[int], width: int = 64, stages: int = 2,
               num_classes: int = 0, init: str = "normal", dtype=jnp.float32, rngs: nnx.Rngs):
    height, _, channels = image_shape
    self.conv1 = nnx.Conv(channels, width, (4, 4), strides=(2, 2), padding="SAME",
                          dtype=dtype, rngs=rngs, **dense_inits(init, 16 * channels))
    self.conv2 = nnx.Conv(width, 2 * width, (4, 4), strides=(2, 2), padding="SAME",
                          dtype=dtype, rngs=rngs, **dense_inits(init, 16 * width))
    self.conv3 = nnx.Conv(2 * width, 4 * width, (3, 3), padding="SAME", dtype=dtype, rngs=rngs,
                          **dense_inits(init, 9 * 2 * width)) if stages == 3 else None
    features = (height // 4) ** 2 * (4 if stages == 3 else 2) * width
    self.out = nnx.Linear(features, 1, dtype=dtype, rngs=rngs, **dense_inits(init, features))
    # Projection discriminator: logit += <embed(y), features>.
    self.embed = nnx.Embed(num_classes, features, rngs=rngs) if num_classes else None

  def __call__(self, img_BxHxWxC: jax.Array, labels_B: jax.Array | None = None) -> jax.Array:
    h = jax.nn.leaky_relu(_strided_conv(self.conv1, img_BxHxWxC), 0.2)
    h = jax.nn.leaky_relu(_strided_conv(self.conv2, h), 0.2)
    if self.conv3 is not None:
      h = jax.nn.leaky_relu(self.conv3(h), 0.2)
    return projection_logits(self.out, self.embed, h.reshape((h.shape[0], -1)), labels_B)


def make(model_config, *, image_shape, num_classes, dtype, g_rngs, d_rngs):
  """Builds the pair from config fields latent_dim, width, stages and init."""
  generator = Generator(image_shape=image_shape, latent_dim=model_config.latent_dim,
                        width=model_config.width, stages=model_config.stages,
                        num_classes=num_classes, init=model_config.init, dtype=dtype, rngs=g_rngs)
  discriminator = Discriminator(image_shape=image_shape, width=model_config.width,
                                stages=model_config.stages, num_classes=num_classes,
                                init=model_config.init, dtype=dtype, rngs=d_rngs)
  return generator, discriminator
