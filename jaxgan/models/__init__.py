"""Model families by name: the Flax NNX generators and discriminators, and their shared layers.

Each family file holds a Generator, a Discriminator and `make`; REGISTRY maps config.model.name to
it. It may import `jaxgan.errors` and nothing else of jaxgan.
"""

import jax
import jax.numpy as jnp
from flax import nnx

from jaxgan.models import dcgan, mlp

REGISTRY = {"mlp": mlp.make, "dcgan": dcgan.make}
DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}  # config.dtype: the compute dtype.


def build(model_config, *, image_shape, num_classes: int, dtype, key: jax.Array,
          aux_classes: int = 0):
  """Builds (generator, discriminator) for `model_config.name`, both seeded from `key`.

  `num_classes` > 0 makes both networks class-conditional; `aux_classes` > 0 (dcgan) gives D an
  auxiliary classifier over that many classes. Both networks output logits.
  """
  g_key, d_key = jax.random.split(key)
  extra = {"aux_classes": aux_classes} if aux_classes else {}
  return REGISTRY[model_config.name](
      model_config, image_shape=tuple(image_shape), num_classes=num_classes, dtype=dtype,
      g_rngs=nnx.Rngs(g_key), d_rngs=nnx.Rngs(d_key), **extra)
