"""Self-conditioning labels: k-means clusters of the training images (Liu et al. 2020).

An unconditional dataset gets labels from its own pixels: the images are clustered once, before
training, and the GAN is trained as a class-conditional one on the cluster ids. Samples then draw
the clusters in proportion to their sizes (`sampling.sampling_labels`), so no label is ever needed.

A labelled dataset can be split further: k-means inside each class gives (class, sub-cluster) labels
`class * K + k`, which separate modes a class lumps together (slanted and upright 1s, open and
closed 4s). Samples of a class then draw its sub-clusters in proportion to their sizes.
"""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import rng
from jaxgan.errors import ConfigError

KMEANS_ITERATIONS = 25


@jax.jit
def _lloyd_step(x_NxD: jax.Array, centroids_KxD: jax.Array) -> jax.Array:
  """One Lloyd iteration: the new centroids_KxD. An empty cluster keeps its centroid."""
  dist_NxK = (jnp.sum(centroids_KxD ** 2, axis=1)[None, :] - 2.0 * x_NxD @ centroids_KxD.T)
  assign_N = jnp.argmin(dist_NxK, axis=1)
  onehot_NxK = jax.nn.one_hot(assign_N, centroids_KxD.shape[0], dtype=x_NxD.dtype)
  count_K = jnp.sum(onehot_NxK, axis=0)
  mean_KxD = (onehot_NxK.T @ x_NxD) / jnp.maximum(count_K, 1.0)[:, None]
  return jnp.where(count_K[:, None] > 0, mean_KxD, centroids_KxD)


def kmeans(x_NxD: jax.Array, num_clusters: int, key: jax.Array,
           iterations: int = KMEANS_ITERATIONS) -> jax.Array:
  """centroids_KxD: Lloyd's k-means from `num_clusters` distinct random points."""
  x_NxD = jnp.asarray(x_NxD, jnp.float32)
  centroids_KxD = x_NxD[jax.random.choice(key, x_NxD.shape[0], (num_clusters,), replace=False)]
  for _ in range(iterations):
    centroids_KxD = _lloyd_step(x_NxD, centroids_KxD)
  return centroids_KxD


def _pixels(images_NxHxWxC: np.ndarray) -> np.ndarray:
  """x_NxD float32 in [0, 1]: the images' pixels, flattened."""
  return images_NxHxWxC.reshape(len(images_NxHxWxC), -1).astype(np.float32) / 255.0


def fit_centroids(images_NxHxWxC: np.ndarray, num_clusters: int, seed: int,
                  what: str = "training images") -> np.ndarray:
  """centroids_KxD float32: k-means of the images' pixels, a pure function of (images, seed)."""
  if not 2 <= num_clusters <= len(images_NxHxWxC):
    raise ConfigError(f"config.model.clusters: got {num_clusters}, expected an integer in "
                      f"[2, {len(images_NxHxWxC)}] (the number of {what})")
  key = rng.stream_key(jax.random.PRNGKey(seed), rng.CLUSTERS)
  return np.asarray(kmeans(_pixels(images_NxHxWxC), num_clusters, key))


def fit_class_centroids(images_NxHxWxC: np.ndarray, labels_N: np.ndarray, num_classes: int,
                        clusters_per_class: int, seed: int) -> np.ndarray:
  """centroids_CxKxD float32: k-means of each class's images, a pure function of its arguments."""
  return np.stack([
      fit_centroids(images_NxHxWxC[labels_N == c], clusters_per_class, seed,
                    what=f"training images of class {c}") for c in range(num_classes)])


def assign(images_NxHxWxC: np.ndarray, centroids_KxD: np.ndarray) -> np.ndarray:
  """labels_N int32: each image's nearest centroid (NumPy, so input pipelines can call it)."""
  x_NxD = _pixels(images_NxHxWxC)
  dist_NxK = np.sum(centroids_KxD ** 2, axis=1)[None, :] - 2.0 * x_NxD @ centroids_KxD.T
  return np.argmin(dist_NxK, axis=1).astype(np.int32)


def assign_within_class(images_NxHxWxC: np.ndarray, labels_N: np.ndarray,
                        centroids_CxKxD: np.ndarray) -> np.ndarray:
  """labels_N int32 = class * K + k: each image's nearest centroid among its own class's K."""
  num_per_class = centroids_CxKxD.shape[1]
  sub_N = np.zeros(len(labels_N), np.int32)
  for c, centroids_KxD in enumerate(centroids_CxKxD):
    in_class = labels_N == c
    if in_class.any():
      sub_N[in_class] = assign(images_NxHxWxC[in_class], centroids_KxD)
  return labels_N.astype(np.int32) * num_per_class + sub_N


def sizes(labels_N: np.ndarray, num_clusters: int) -> tuple[float, ...]:
  """prior_K: the clusters' relative sizes."""
  return tuple(float(p) for p in np.bincount(labels_N, minlength=num_clusters) / len(labels_N))


def cluster_labels(images_NxHxWxC: np.ndarray, num_clusters: int,
                   seed: int) -> tuple[np.ndarray, tuple[float, ...]]:
  """(labels_N int32, prior_K): k-means clusters of the images' pixels and their relative sizes.

  A pure function of (images, num_clusters, seed), so a resumed run gets the same clusters.
  """
  labels_N = assign(images_NxHxWxC, fit_centroids(images_NxHxWxC, num_clusters, seed))
  return labels_N, sizes(labels_N, num_clusters)


def class_subcluster_labels(images_NxHxWxC: np.ndarray, labels_N: np.ndarray, num_classes: int,
                            clusters_per_class: int, seed: int
                            ) -> tuple[np.ndarray, tuple[float, ...]]:
  """(labels_N int32 = class * K + k, prior_CK): k-means sub-clusters inside each class and the
  relative sizes of the C * K (class, sub-cluster) pairs."""
  centroids_CxKxD = fit_class_centroids(images_NxHxWxC, labels_N, num_classes, clusters_per_class,
                                        seed)
  labels_N = assign_within_class(images_NxHxWxC, labels_N, centroids_CxKxD)
  return labels_N, sizes(labels_N, num_classes * clusters_per_class)
