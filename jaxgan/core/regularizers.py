"""Discriminator regularizers: the R1 gradient penalty and spectral normalisation of its weights."""

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import traverse_util


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


def _matrices(d_params) -> dict[tuple, jax.Array]:
  """D's weights of rank >= 2 by path, each as a (fan_in, out) matrix (a conv kernel's leading axes
  flattened)."""
  flat = traverse_util.flatten_dict(d_params)
  return {path: w.reshape((-1, w.shape[-1])) for path, w in flat.items() if w.ndim >= 2}


def _unit(x: jax.Array) -> jax.Array:
  return x / (jnp.linalg.norm(x) + 1e-12)


def init_spectral_vectors(key: jax.Array, d_params) -> dict:
  """A random unit vector u_O per weight matrix of D, nested like `d_params` (weights only)."""
  matrices = _matrices(d_params)
  keys = jax.random.split(key, len(matrices))
  return traverse_util.unflatten_dict({
      path: _unit(jax.random.normal(k, (m.shape[1],), jnp.float32))
      for k, (path, m) in zip(keys, matrices.items())})


def power_iteration(d_params, vectors, num_iters: int = 1) -> dict:
  """`num_iters` power-iteration steps towards each matrix's top right singular vector (no gradient)."""
  matrices = _matrices(jax.lax.stop_gradient(d_params))
  flat = traverse_util.flatten_dict(vectors)
  for path, u_O in flat.items():
    m_IxO = matrices[path].astype(jnp.float32)
    for _ in range(num_iters):
      u_O = _unit(m_IxO.T @ _unit(m_IxO @ u_O))
    flat[path] = u_O
  return traverse_util.unflatten_dict(flat)


def spectral_normalize(d_params, vectors, rows=None) -> dict:
  """Spectral normalisation (Miyato et al. 2018): each weight matrix W divided by its largest singular
  value, estimated as |W u| for its power-iteration vector u (held constant in the gradient).

  `rows` maps the path of a table (a projection embedding) to the rows_B to keep: that table comes
  back as W[rows_B] / sigma, the rows of the normalised table without dividing all of it.
  """
  flat = traverse_util.flatten_dict(d_params)
  matrices = _matrices(d_params)
  flat_vectors = traverse_util.flatten_dict(vectors)
  rows = rows or {}
  unknown = sorted(rows.keys() - flat_vectors.keys())
  if unknown:
    raise ValueError(f"rows of tables that are not normalised: {unknown}")
  for path, u_O in flat_vectors.items():
    sigma = jnp.linalg.norm(matrices[path].astype(jnp.float32) @ jax.lax.stop_gradient(u_O))
    w = flat[path][rows[path]] if path in rows else flat[path]
    flat[path] = w / sigma.astype(w.dtype)
  return traverse_util.unflatten_dict(flat)
