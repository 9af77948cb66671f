"""FID, KID, Inception Score and precision/recall of image sets on Inception features.

The maths is `jaxgan.evaluation.feature_metrics` (float64 numpy): FID is its Frechet distance of
the Gaussian fits (eigenvalues clipped, so any N >= 2 gives a finite real number; with no more
samples than features, the same value computed exactly in the samples' span, see
`fid_of_features`), KID its unbiased polynomial MMD over subsets of 1000, precision/recall its
k-NN manifolds (k = 3).

The Inception Score follows torch-fidelity (and OpenAI's original code): softmax over all 1008
logits of the fc layer taken without its bias, the set shuffled by RandomState(2020) and split in
10, mean and std of exp(E KL(p(y|x) || p(y))) over the splits (one split below 10 images).

A source's statistics (mu, sigma, pool features, k-NN radii and IS) are cached next to it as
`<path>.fid_stats-<content sha256 prefix>-<weights sha256 prefix>.npz` (the preprocessing is
recorded inside), or under the user's cache folder when its folder is read-only.
"""

import dataclasses
import hashlib
import logging
import pathlib

import numpy as np

from jaxgan.errors import DataError
from jaxgan.evaluation import disk_cache, feature_metrics
from jaxgan.evaluation.inception import features, weights

PR_K = 3
IS_SPLITS, IS_SEED = 10, 2020
_log = logging.getLogger("jaxgan")


@dataclasses.dataclass
class SetStats:
  """What the metrics need of one image set."""
  mu: np.ndarray            # (2048,) float64
  sigma: np.ndarray         # (2048, 2048) float64
  pool: np.ndarray          # (N, 2048) float32: KID and precision/recall
  sq_radii: np.ndarray      # (N,) float64: squared k-NN radii (empty when N <= PR_K)
  inception_score: tuple[float, float]  # (mean, std)

  @property
  def num(self) -> int:
    return self.pool.shape[0]


def inception_score(logits_unbiased_NxC: np.ndarray, splits: int = IS_SPLITS,
                    seed: int = IS_SEED) -> tuple[float, float]:
  """(mean, std) of the Inception Score over `splits` splits (torch-fidelity's procedure)."""
  logits = np.asarray(logits_unbiased_NxC, np.float64)
  n = logits.shape[0]
  if n < 1:
    raise DataError("the Inception Score needs at least one image")
  splits = splits if n >= splits else 1
  logits = logits[np.random.RandomState(seed).permutation(n)]
  scores = [feature_metrics.mnist_score(logits[i * n // splits:(i + 1) * n // splits])
            for i in range(splits)]
  return float(np.mean(scores)), float(np.std(scores))


def set_stats(pool_NxF: np.ndarray, logits_NxC: np.ndarray, fc_bias_C: np.ndarray) -> SetStats:
  """Statistics of one set from its pool features and fc logits (with bias)."""
  pool = np.asarray(pool_NxF, np.float32)
  if pool.shape[0] < 2:
    raise DataError(f"FID needs at least 2 images in each set, got {pool.shape[0]}")
  pool64 = pool.astype(np.float64)
  sq_radii = feature_metrics.knn_sq_radii(pool64, PR_K) if pool.shape[0] > PR_K else np.zeros(0)
  unbiased = np.asarray(logits_NxC, np.float64) - np.asarray(fc_bias_C, np.float64)[None, :]
  return SetStats(pool64.mean(axis=0), np.cov(pool64, rowvar=False), pool, sq_radii,
                  inception_score(unbiased))


def _frechet_in_sample_span(x_NxF: np.ndarray, y_MxF: np.ndarray) -> float:
  """The Frechet distance of two sets' Gaussian fits, exactly, from N, M <= F samples.

  With centred samples X, Y, tr sqrt(S_x S_y) is the sum of the singular values of
  X Y^T / sqrt((N-1)(M-1)) (the nonzero eigenvalues of S_x S_y are their squares): an N x M problem
  instead of two F x F eigendecompositions, and no rounding noise from the F - N zero eigenvalues.
  """
  x, y = np.asarray(x_NxF, np.float64), np.asarray(y_MxF, np.float64)
  if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
    raise DataError("FID: the features hold non-finite values (NaN or inf)")
  xc, yc = x - x.mean(axis=0), y - y.mean(axis=0)
  n1, n2 = x.shape[0] - 1, y.shape[0] - 1
  cross = (xc @ yc.T) / np.sqrt(n1 * n2)
  diff = x.mean(axis=0) - y.mean(axis=0)
  return float(diff @ diff + np.sum(xc * xc) / n1 + np.sum(yc * yc) / n2
               - 2.0 * np.sum(np.linalg.svd(cross, compute_uv=False)))


def fid_of_features(x_NxF: np.ndarray, y_MxF: np.ndarray) -> float:
  """Frechet distance of two feature sets: `feature_metrics.fcd`, or, when neither set has more
  samples than features, the same value by `_frechet_in_sample_span` (exact, and about 100x faster
  than two 2048 x 2048 eigendecompositions at N = 100)."""
  if max(len(x_NxF), len(y_MxF)) <= np.shape(x_NxF)[1]:
    return _frechet_in_sample_span(x_NxF, y_MxF)
  return feature_metrics.fcd(x_NxF, y_MxF)


def fid(a: SetStats, b: SetStats) -> float:
  """Frechet Inception Distance of two sets (a finite float for any N >= 2)."""
  if max(a.num, b.num) <= a.pool.shape[1]:
    value = _frechet_in_sample_span(a.pool, b.pool)
  else:
    value = feature_metrics.frechet_distance(a.mu, a.sigma, b.mu, b.sigma)
  if not np.isfinite(value):
    raise DataError(f"FID came out {value}: the features hold non-finite values")
  return value


def compare(real: SetStats, fake: SetStats, *, kid_subsets: int = 100,
            kid_subset_size: int = 1000) -> dict:
  """FID, KID (mean, std), precision and recall of `fake` against `real`, and each set's IS.

  Precision and recall are None when a set has no more than k = 3 images.
  """
  kid_mean, kid_std = feature_metrics.kid(real.pool, fake.pool, kid_subsets, kid_subset_size)
  precision = recall = None
  if real.num > PR_K and fake.num > PR_K:
    precision, recall = feature_metrics.precision_recall(real.pool, fake.pool, PR_K,
                                                         real_sq_radii_N=real.sq_radii)
  return dict(fid=fid(real, fake), kid=kid_mean, kid_std=kid_std, precision=precision,
              recall=recall, is_real=real.inception_score[0], is_real_std=real.inception_score[1],
              is_fake=fake.inception_score[0], is_fake_std=fake.inception_score[1],
              num_real=real.num, num_fake=fake.num)


# ---------------------------------------------------------------------------------------------
# Statistics of a source, cached next to it.

def _save(path: pathlib.Path, stats: SetStats) -> None:
  disk_cache.save_npz(path, dict(mu=stats.mu, sigma=stats.sigma, pool=stats.pool,
                                 sq_radii=stats.sq_radii,
                                 inception_score=np.array(stats.inception_score),
                                 preprocessing=np.array(features.PREPROCESSING)))


def _load(path: pathlib.Path) -> SetStats | None:
  arrays = disk_cache.load_npz(path)
  if arrays is None or str(arrays.get("preprocessing")) != features.PREPROCESSING:
    return None
  try:
    return SetStats(arrays["mu"], arrays["sigma"], arrays["pool"], arrays["sq_radii"],
                    tuple(float(v) for v in arrays["inception_score"]))
  except KeyError:
    return None


def stats_paths(source: features.Source, weights_sha256: str) -> list[pathlib.Path]:
  """Where `source`'s statistics are cached: beside it, then under the user's cache folder."""
  key = f"{source.content_hash()[:16]}-{weights_sha256[:8]}"
  name = f"{source.path.name}.fid_stats-{key}.npz"
  return [source.path.parent / name, disk_cache.cache_dir() / "fid_stats" / name]


def source_stats(source: features.Source, extractor: features.Extractor, *,
                 weights_sha256: str = weights.SHA256, cache: bool = True) -> SetStats:
  """`source`'s statistics, from its cache (keyed by content and weights) or computed and cached."""
  paths = stats_paths(source, weights_sha256) if cache else []
  for path in paths:
    if path.is_file():
      cached = _load(path)
      if cached is not None and cached.num == source.num:
        _log.info("%s: cached statistics %s", source.path, path)
        return cached
  pool, logits = extractor(source.images(), num=source.num)
  stats = set_stats(pool, logits, extractor.fc_bias)
  for path in paths:
    try:
      _save(path, stats)
      break
    except OSError:
      continue
  else:
    if paths:
      _log.warning("cannot cache the statistics of %s", source.path)
  return stats


def array_stats(images_NxHxWxC: np.ndarray, extractor: features.Extractor, *,
                weights_sha256: str = weights.SHA256, cache: bool = True) -> SetStats:
  """The statistics of an array of images (a dataset's split), cached under the user's cache
  folder, keyed by the sha256 of the images' bytes and the weights."""
  images = np.ascontiguousarray(images_NxHxWxC)
  key = f"{hashlib.sha256(images.tobytes()).hexdigest()[:16]}-{weights_sha256[:8]}"
  path = disk_cache.cache_dir() / "fid_stats" / f"array-{key}.npz"
  cached = _load(path) if cache and path.is_file() else None
  if cached is not None and cached.num == len(images):
    return cached
  stats = set_stats(*extractor(images), extractor.fc_bias)
  if cache:
    try:
      _save(path, stats)
    except OSError:
      _log.warning("cannot cache the Inception statistics in %s", path.parent)
  return stats
