"""Discriminator regularizers: the R1 gradient penalty (spectral normalisation lives with the layers)."""

from collections.abc import Callable

import jax
import jax.numpy as jnp


def r1_penalty(logits_fn: Callable[[jax.Array], jax.Array], real_BxHxWxC: jax.Array) -> jax.Array:
  """R1 (Mescheder et al. 2018): the batch mean of |d logits / d x|^2 on real images.

  Args:
    logits_fn: images_BxHxWxC -> D's logits_B, differentiable in its input.
    real_BxHxWxC: a real batch.

  Returns:
    The scalar mean over the batch of each image's squared gradient norm. The D loss adds
    gamma / 2 times it.
  """
  grad_BxHxWxC = jax.grad(lambda x: jnp.sum(logits_fn(x)))(real_BxHxWxC)
  grad_BxHxWxC = grad_BxHxWxC.astype(jnp.promote_types(grad_BxHxWxC.dtype, jnp.float32))
  return jnp.mean(jnp.sum(jnp.square(grad_BxHxWxC), axis=tuple(range(1, grad_BxHxWxC.ndim))))
