"""A DCGAN for square images: conv-transpose generator with BatchNorm+ReLU, conv discriminator with
LeakyReLU.

The number of stride-2 stages follows from the image side: it is halved down to a base of at most 7
(28 -> 7: 2 stages; 32 -> 4: 3 stages; 64 -> 4: 4 stages). The deepest stage has 2^(n-1) w
features, each shallower one half as many. `stages=3` adds a stride-1 3x3 conv stage at the base
resolution (twice the deepest features) to both networks.
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from jaxgan.errors import ConfigError
from jaxgan.models.layers import (
  BatchNorm,
  dense_inits,
  projection_logits,
  strided_conv,
  subpixel_conv_transpose,
)


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


def upsampling_stages(image_shape: Sequence[int]) -> tuple[int, int]:
  """(n, base): the stride-2 stages for an image of side `base` * 2^n, base <= 7 where possible.

  Raises:
    ConfigError: the images are not square, or their side is odd or under 8.
  """
  height, width = image_shape[:2]
  n, base = 0, height
  while base % 2 == 0 and base > 7:
    base, n = base // 2, n + 1
  if height != width or n == 0:
    raise ConfigError(f"model dcgan needs square images of an even side >= 8, got {height}x{width}; "
                      "set --config.data.image_size=S (say 32 or 64) or use model mlp")
  return n, base


class Generator(nnx.Module):
  """z_BxZ -> Linear to base x base x (2^(n-1) w) [x 2, then Conv3x3 to 2^(n-1) w] -> n ConvT
  stages, each doubling the size and halving the features, the last to HxWxC logits (28: 7x7x2w ->
  14x14xw -> 28x28xC)."""

  def __init__(self, *, image_shape: Sequence[int], latent_dim: int = 64, width: int = 64,
               stages: int = 2, num_classes: int = 0, init: str = "normal", dtype=jnp.float32,
               rngs: nnx.Rngs):
    channels = image_shape[-1]
    self.image_shape = tuple(image_shape)
    self.latent_dim = latent_dim
    self.num_classes = num_classes
    self.num_up, self.base = upsampling_stages(image_shape)
    self.width = width
    self.embed = nnx.Embed(num_classes, latent_dim, rngs=rngs) if num_classes else None
    in_dim = latent_dim * (2 if num_classes else 1)
    top = 2 ** (self.num_up - 1) * width
    self.base_channels = (2 if stages == 3 else 1) * top
    base_features = self.base * self.base * self.base_channels
    # No bias before a BatchNorm: it would cancel it (its true gradient is zero).
    self.fc = nnx.Linear(in_dim, base_features, use_bias=False, dtype=dtype, rngs=rngs,
                         **dense_inits(init, in_dim))
    self.norm0 = BatchNorm(base_features)
    self.conv0 = nnx.Conv(2 * top, top, (3, 3), padding="SAME", use_bias=False, dtype=dtype,
                          rngs=rngs, **dense_inits(init, 9 * 2 * top)) if stages == 3 else None
    self.norm_c = BatchNorm(top) if stages == 3 else None
    for i in range(1, self.num_up + 1):  # up1, norm1, up2, ...: each halves the features.
      last = i == self.num_up
      c_in, c_out = top >> (i - 1), channels if last else top >> i
      setattr(self, f"up{i}", nnx.ConvTranspose(
          c_in, c_out, (4, 4), strides=(2, 2), padding="SAME", use_bias=last, dtype=dtype,
          rngs=rngs, **dense_inits(init, 16 * c_in)))
      if not last:
        setattr(self, f"norm{i}", BatchNorm(c_out))

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
    for i in range(1, self.num_up):
      h = jax.nn.relu(getattr(self, f"norm{i}")(_conv_transpose(getattr(self, f"up{i}"), h),
                                                 train=train))
    return _conv_transpose(getattr(self, f"up{self.num_up}"), h).astype(jnp.float32)


def minibatch_std(h_BxHxWxC: jax.Array, group: int) -> jax.Array:
  """h_BxHxWx(C+1): `h` with one more channel, for each image the standard deviation of the features
  over its group of `group` consecutive images, averaged over features and positions (ProGAN's
  minibatch standard deviation: a cue to how varied a batch is). B must divide by min(group, B)."""
  b, height, width, channels = h_BxHxWxC.shape
  group = min(group, b)
  if b % group:
    raise ValueError(f"minibatch_std: a batch of {b} does not split into groups of {group}")
  h_GxKxHxWxC = h_BxHxWxC.astype(jnp.float32).reshape(b // group, group, height, width, channels)
  std_G = jnp.mean(jnp.sqrt(jnp.var(h_GxKxHxWxC, axis=1) + 1e-8), axis=(1, 2, 3))
  std_BxHxWx1 = jnp.broadcast_to(jnp.repeat(std_G, group)[:, None, None, None],
                                 (b, height, width, 1)).astype(h_BxHxWxC.dtype)
  return jnp.concatenate([h_BxHxWxC, std_BxHxWx1], axis=-1)


class Discriminator(nnx.Module):
  """img_BxHxWxC -> n stride-2 Convs (w, 2w, ..., 2^(n-1) w features) [-> Conv3x3(2^n w)]
  [-> `minibatch_std`] -> Linear -> logit_B, LeakyReLU(0.2); the convs are conv1, conv2, ... in
  order. `aux_classes` > 0 adds an auxiliary classifier on the same features (AC-GAN), read by
  `logits_and_classes`."""

  def __init__(self, *, image_shape: Sequence[int], width: int = 64, stages: int = 2,
               num_classes: int = 0, aux_classes: int = 0, minibatch_std_group: int = 0,
               init: str = "normal", dtype=jnp.float32, rngs: nnx.Rngs):
    self.num_down, base = upsampling_stages(image_shape)
    self.extra = stages == 3
    self.minibatch_std_group = minibatch_std_group
    c_in = image_shape[-1]
    for i in range(1, self.num_down + 1):
      c_out = width << (i - 1)
      setattr(self, f"conv{i}", nnx.Conv(c_in, c_out, (4, 4), strides=(2, 2), padding="SAME",
                                         dtype=dtype, rngs=rngs, **dense_inits(init, 16 * c_in)))
      c_in = c_out
    if self.extra:
      setattr(self, f"conv{self.num_down + 1}", nnx.Conv(
          c_in, 2 * c_in, (3, 3), padding="SAME", dtype=dtype, rngs=rngs,
          **dense_inits(init, 9 * c_in)))
    features = base * base * ((2 if self.extra else 1) * c_in + (1 if minibatch_std_group else 0))
    self.out = nnx.Linear(features, 1, dtype=dtype, rngs=rngs, **dense_inits(init, features))
    # Projection discriminator: logit += <embed(y), features>.
    self.embed = nnx.Embed(num_classes, features, rngs=rngs) if num_classes else None
    self.classify = (nnx.Linear(features, aux_classes, dtype=dtype, rngs=rngs,
                                **dense_inits(init, features)) if aux_classes else None)

  def features(self, img_BxHxWxC: jax.Array) -> jax.Array:
    """h_BxF: the flattened features of the last conv stage."""
    h = img_BxHxWxC
    for i in range(1, self.num_down + 1):
      h = jax.nn.leaky_relu(_strided_conv(getattr(self, f"conv{i}"), h), 0.2)
    if self.extra:
      h = jax.nn.leaky_relu(getattr(self, f"conv{self.num_down + 1}")(h), 0.2)
    if self.minibatch_std_group:
      h = minibatch_std(h, self.minibatch_std_group)
    return h.reshape((h.shape[0], -1))

  def __call__(self, img_BxHxWxC: jax.Array, labels_B: jax.Array | None = None) -> jax.Array:
    return projection_logits(self.out, self.embed, self.features(img_BxHxWxC), labels_B)

  def logits_and_classes(self, img_BxHxWxC: jax.Array, labels_B: jax.Array | None = None
                         ) -> tuple[jax.Array, jax.Array]:
    """(logit_B, class_logits_BxA) float32: D's logit and its auxiliary classifier's logits."""
    h_BxF = self.features(img_BxHxWxC)
    return (projection_logits(self.out, self.embed, h_BxF, labels_B),
            self.classify(h_BxF).astype(jnp.float32))


def make(model_config, *, image_shape, num_classes, dtype, g_rngs, d_rngs, aux_classes=0):
  """Builds the pair from config fields latent_dim, width, stages, d_minibatch_std and init."""
  generator = Generator(image_shape=image_shape, latent_dim=model_config.latent_dim,
                        width=model_config.width, stages=model_config.stages,
                        num_classes=num_classes, init=model_config.init, dtype=dtype, rngs=g_rngs)
  discriminator = Discriminator(image_shape=image_shape, width=model_config.width,
                                stages=model_config.stages, num_classes=num_classes,
                                aux_classes=aux_classes,
                                minibatch_std_group=model_config.d_minibatch_std,
                                init=model_config.init, dtype=dtype, rngs=d_rngs)
  return generator, discriminator
