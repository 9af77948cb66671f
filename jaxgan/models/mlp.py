"""The seed networks: the tutorial's MLP generator and discriminator, exactly."""

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from jaxgan.models.layers import BatchNorm, dense_inits, projection_logits


def _gelu(x):
  return jax.nn.gelu(x, approximate=False)  # PyTorch's nn.GELU is the exact erf form.


class Generator(nnx.Module):
  """z_BxZ -> image logits_BxHxWxC through Linear+BatchNorm+GELU blocks (the sigmoid comes later)."""

  def __init__(self, *, image_shape: Sequence[int], latent_dim: int = 96,
               hidden: Sequence[int] = (128, 256, 512, 1024), num_classes: int = 0,
               init: str = "torch", dtype=jnp.float32, rngs: nnx.Rngs):
    self.image_shape = tuple(image_shape)
    self.latent_dim = latent_dim
    self.num_classes = num_classes
    self.dtype = dtype
    self.embed = nnx.Embed(num_classes, latent_dim, rngs=rngs) if num_classes else None
    sizes = [latent_dim * (2 if num_classes else 1), *hidden]
    self.linears = nnx.List([
        nnx.Linear(i, o, dtype=dtype, rngs=rngs, **dense_inits(init, i))
        for i, o in zip(sizes[:-1], sizes[1:])])
    self.norms = nnx.List([BatchNorm(o) for o in hidden])
    out = math.prod(self.image_shape)
    self.out = nnx.Linear(sizes[-1], out, dtype=dtype, rngs=rngs, **dense_inits(init, sizes[-1]))

  def __call__(self, z_BxZ: jax.Array, labels_B: jax.Array | None = None, *,
               train: bool = True) -> jax.Array:
    h = z_BxZ
    if self.embed is not None:
      h = jnp.concatenate([h, self.embed(labels_B)], axis=-1)
    for linear, norm in zip(self.linears, self.norms):
      h = _gelu(norm(linear(h), train=train))
    logits = self.out(h).astype(jnp.float32)
    return logits.reshape((z_BxZ.shape[0], *self.image_shape))


class Discriminator(nnx.Module):
  """image_BxHxWxC -> logit_B through Linear+GELU layers, no normalisation."""

  def __init__(self, *, image_shape: Sequence[int], hidden: Sequence[int] = (512, 256, 128, 64, 32),
               num_classes: int = 0, init: str = "torch", dtype=jnp.float32, rngs: nnx.Rngs):
    self.num_classes = num_classes
    self.dtype = dtype
    sizes = [math.prod(image_shape), *hidden]
    self.linears = nnx.List([
        nnx.Linear(i, o, dtype=dtype, rngs=rngs, **dense_inits(init, i))
        for i, o in zip(sizes[:-1], sizes[1:])])
    self.out = nnx.Linear(sizes[-1], 1, dtype=dtype, rngs=rngs, **dense_inits(init, sizes[-1]))
    # Projection discriminator: logit += <embed(y), features>.
    self.embed = nnx.Embed(num_classes, sizes[-1], rngs=rngs) if num_classes else None

  def __call__(self, img_BxHxWxC: jax.Array, labels_B: jax.Array | None = None) -> jax.Array:
    h = img_BxHxWxC.reshape((img_BxHxWxC.shape[0], -1)).astype(self.dtype)
    for linear in self.linears:
      h = _gelu(linear(h))
    return projection_logits(self.out, self.embed, h, labels_B)


def make(model_config, *, image_shape, num_classes, dtype, g_rngs, d_rngs):
  """Builds the pair from config fields latent_dim, g_hidden, d_hidden and init."""
  generator = Generator(image_shape=image_shape, latent_dim=model_config.latent_dim,
                        hidden=tuple(model_config.g_hidden), num_classes=num_classes,
                        init=model_config.init, dtype=dtype, rngs=g_rngs)
  discriminator = Discriminator(image_shape=image_shape, hidden=tuple(model_config.d_hidden),
                                num_classes=num_classes, init=model_config.init, dtype=dtype,
                                rngs=d_rngs)
  return generator, discriminator
