"""The training split as the loop sees it: resident on the devices when it fits the budget, else
streamed from its source (`jaxgan.data.streaming`), with the labels the GAN trains on."""

import dataclasses
import logging
import os
from collections.abc import Callable

import jax
import numpy as np

from jaxgan.data import clusters, sources, splits

log = logging.getLogger(__name__)
# Self-conditioning on a streamed dataset fits its k-means on at most this many images, drawn by
# the seed; every image is then labelled by its nearest centroid.
STREAM_CLUSTER_SAMPLE = 20000


@dataclasses.dataclass(frozen=True)
class TrainingData:
  """The training examples and the labels the GAN trains on.

  Attributes:
    image_shape: (H, W, C).
    num_examples: N.
    num_classes: classes of a conditional (or self-conditioned) model, else 0.
    label_prior: self-conditioning's cluster sizes, else None.
    arrays: (images_NxHxWxC, labels_N) when resident, else None.
    source: the `jaxgan.data.sources` source when streamed, else None.
    label_fn: `(images_BxHxWxC, labels_B) -> labels_B` the GAN trains on, when streamed.
  """
  image_shape: tuple[int, ...]
  num_examples: int
  num_classes: int
  label_prior: tuple[float, ...] | None
  arrays: tuple[np.ndarray, np.ndarray] | None = None
  source: object = None
  label_fn: Callable | None = None


def resident_budget_bytes(budget_mib: int) -> int:
  """`budget_mib` MiB; 0: half of the first device's memory, or a quarter of the host's on CPU."""
  if budget_mib:
    return budget_mib * 2**20
  stats = jax.local_devices()[0].memory_stats() or {}
  if "bytes_limit" in stats:
    return stats["bytes_limit"] // 2
  return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4


def load(config) -> TrainingData:
  """The training split of `config.data` (`config.data.pipeline`: "resident", "stream", or "auto":
  resident when N x H x W x C bytes fit `resident_budget_bytes`; the IDX source is always read
  whole). Raises DataError or ConfigError in one line."""
  pipeline = config.data.pipeline
  source = None
  if pipeline == "stream" or (pipeline == "auto" and config.data.source != "idx"):
    source = sources.open_source(config.data, "train")
    nbytes = len(source) * int(np.prod(source.image_shape))
    budget = resident_budget_bytes(config.data.resident_budget_mib)
    if pipeline == "auto" and nbytes > budget:
      log.info("streaming the training set: its %d MiB exceed the resident budget of %d MiB "
               "(config.data.resident_budget_mib)", nbytes // 2**20, budget // 2**20)
      pipeline = "stream"
  if pipeline == "stream":
    return _streamed(config, source)
  images_N, labels_N = splits.load_split(config.data, "train")
  labels_N, num_classes, label_prior = _resident_labels(config, images_N, labels_N)
  return TrainingData(images_N.shape[1:], len(images_N), num_classes, label_prior,
                      arrays=(images_N, labels_N))


def _resident_labels(config, images_NxHxWxC: np.ndarray, labels_N: np.ndarray
                     ) -> tuple[np.ndarray, int, tuple[float, ...] | None]:
  """(labels_N, num_classes, label_prior) the GAN trains on: the dataset's classes for a conditional
  model (split into config.model.clusters k-means sub-clusters each when set), k-means clusters of
  the images for self-conditioning (config.model.clusters), else none."""
  num_clusters = config.model.clusters
  if config.model.conditional and num_clusters:
    num_classes = int(labels_N.max()) + 1
    labels_N, prior = clusters.class_subcluster_labels(images_NxHxWxC, labels_N, num_classes,
                                                       num_clusters, config.seed)
    return labels_N, num_classes * num_clusters, prior
  if num_clusters:
    labels_N, prior = clusters.cluster_labels(images_NxHxWxC, num_clusters, config.seed)
    return labels_N, num_clusters, prior
  return labels_N, int(labels_N.max()) + 1 if config.model.conditional else 0, None


def _cluster_sample(config, source) -> tuple[np.ndarray, np.ndarray]:
  """(images_S, labels_S): all of `source`, or STREAM_CLUSTER_SAMPLE of its images drawn by the seed."""
  n = len(source)
  sample_S = (np.arange(n) if n <= STREAM_CLUSTER_SAMPLE else np.sort(
      np.random.default_rng(config.seed).choice(n, STREAM_CLUSTER_SAMPLE, replace=False)))
  chunks = [source.read(chunk) for chunk in np.array_split(sample_S, max(1, len(sample_S) // 1024))]
  return tuple(np.concatenate(parts) for parts in zip(*chunks))


def _streamed(config, source) -> TrainingData:
  """TrainingData read from `source`; (sub-)clusters are fitted on a sample of it first."""
  num_clusters, n = config.model.clusters, len(source)
  shape = tuple(source.image_shape)
  if not num_clusters:
    return TrainingData(shape, n, source.num_classes if config.model.conditional else 0, None,
                        source=source, label_fn=lambda images, labels: labels)
  images_S, labels_S = _cluster_sample(config, source)
  if config.model.conditional:
    num_classes = source.num_classes
    centroids_CxKxD = clusters.fit_class_centroids(images_S, labels_S, num_classes, num_clusters,
                                                   config.seed)
    label_fn = lambda images, labels: clusters.assign_within_class(images, labels, centroids_CxKxD)
    num_labels = num_classes * num_clusters
  else:
    centroids_KxD = clusters.fit_centroids(images_S, num_clusters, config.seed)
    label_fn = lambda images, labels: clusters.assign(images, centroids_KxD)
    num_labels = num_clusters
  prior = clusters.sizes(label_fn(images_S, labels_S), num_labels)
  return TrainingData(shape, n, num_labels, prior, source=source, label_fn=label_fn)
