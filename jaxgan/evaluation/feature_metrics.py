"""Metrics of a set of evaluator features and logits, as pure float64 numpy functions.

`fcd` (Frechet classifier distance), `kid` (kernel distance), `mnist_score` (the Inception-score
formula), `class_kl` (class histogram vs uniform) and `precision_recall` (k-NN manifolds).
"""

import numpy as np


def _gaussian(feats_NxF) -> tuple[np.ndarray, np.ndarray]:
  x = np.asarray(feats_NxF, np.float64)
  return x.mean(axis=0), np.cov(x, rowvar=False)


def _sqrtm_psd(sigma_FxF: np.ndarray) -> np.ndarray:
  w, v = np.linalg.eigh(sigma_FxF)
  return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
  """|mu1 - mu2|^2 + tr(S1 + S2 - 2 sqrt(S1 S2)) in float64.

  tr sqrt(S1 S2) is taken as tr sqrt(sqrt(S1) S2 sqrt(S1)): the same eigenvalues, but of a symmetric
  PSD matrix, so `eigh` applies and tiny negative eigenvalues from rounding are clipped to zero.
  """
  mu1, mu2, sigma1, sigma2 = (np.asarray(a, np.float64) for a in (mu1, mu2, sigma1, sigma2))
  root1 = _sqrtm_psd(sigma1)
  eig = np.linalg.eigvalsh(root1 @ sigma2 @ root1)
  tr_covmean = np.sum(np.sqrt(np.clip(eig, 0.0, None)))
  diff = mu1 - mu2
  return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)


def fcd(feats_a_NxF, feats_b_MxF) -> float:
  """Frechet classifier distance between two feature sets (Gaussian fits, float64)."""
  return frechet_distance(*_gaussian(feats_a_NxF), *_gaussian(feats_b_MxF))


def _poly_kernel(x_NxF: np.ndarray, y_MxF: np.ndarray) -> np.ndarray:
  k_NxM = x_NxF @ y_MxF.T
  k_NxM /= x_NxF.shape[1]
  k_NxM += 1.0
  return k_NxM * k_NxM * k_NxM  # In place and by products: 1.4x faster than `(...) ** 3`.


def kid(feats_a_NxF, feats_b_MxF, num_subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
  """Kernel distance: unbiased MMD^2 with the kernel (x.y / d + 1)^3, over random subsets.

  Each subset draws `subset_size` rows (capped at the smaller set's size) without replacement from
  each set.

  Returns:
    (mean, std) of the per-subset estimates.
  """
  a = np.asarray(feats_a_NxF, np.float64)
  b = np.asarray(feats_b_MxF, np.float64)
  m = min(subset_size, a.shape[0], b.shape[0])
  rng = np.random.default_rng(seed)
  estimates = np.empty(num_subsets)
  for i in range(num_subsets):
    x = a[rng.choice(a.shape[0], m, replace=False)]
    y = b[rng.choice(b.shape[0], m, replace=False)]
    k_xx, k_yy, k_xy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
    estimates[i] = ((k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
                    - 2.0 * k_xy.mean())
  return float(estimates.mean()), float(estimates.std())


def _log_softmax(logits_NxC) -> np.ndarray:
  x = np.asarray(logits_NxC, np.float64)
  x = x - x.max(axis=1, keepdims=True)
  return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def mnist_score(logits_NxC) -> float:
  """exp(E_x[KL(p(y|x) || p(y))]) over the whole set (the Inception-score formula, no splits).

  1 for a set of one class (or of uninformative predictions), at most C = 10 for confident
  predictions balanced across classes.
  """
  log_p_NxC = _log_softmax(logits_NxC)
  p_NxC = np.exp(log_p_NxC)
  log_marginal_C = np.log(p_NxC.mean(axis=0))
  return float(np.exp(np.mean(np.sum(p_NxC * (log_p_NxC - log_marginal_C), axis=1))))


def class_kl(logits_NxC) -> float:
  """KL(histogram of argmax classes || uniform): 0 for a balanced set, log(C) for one class."""
  logits = np.asarray(logits_NxC)
  num_classes = logits.shape[1]
  hist_C = np.bincount(np.argmax(logits, axis=1), minlength=num_classes) / logits.shape[0]
  nonzero = hist_C > 0
  return float(np.sum(hist_C[nonzero] * np.log(hist_C[nonzero] * num_classes)))


def _sq_dists(x_BxF: np.ndarray, y_MxF: np.ndarray, y_sq_M: np.ndarray) -> np.ndarray:
  d = np.sum(x_BxF * x_BxF, axis=1)[:, None] + y_sq_M[None, :] - 2.0 * (x_BxF @ y_MxF.T)
  return np.maximum(d, 0.0)


def knn_sq_radii(x_NxF, k: int = 3, block: int = 1000) -> np.ndarray:
  """Squared distance (float64) of each row to its k-th nearest other row."""
  x_NxF = np.asarray(x_NxF, np.float64)
  sq_N = np.sum(x_NxF * x_NxF, axis=1)
  radii = np.empty(x_NxF.shape[0])
  for start in range(0, x_NxF.shape[0], block):
    d_BxN = _sq_dists(x_NxF[start:start + block], x_NxF, sq_N)
    radii[start:start + block] = np.partition(d_BxN, k, axis=1)[:, k]  # Index 0 is the row itself.
  return radii


def precision_recall(real_feats_NxF, fake_feats_MxF, k: int = 3, block: int = 1000,
                     real_sq_radii_N: np.ndarray | None = None) -> tuple[float, float]:
  """Improved precision and recall (Kynkaanniemi et al., 2019) with k-NN balls.

  Precision: the fraction of fakes inside some real sample's ball (radius: distance to its k-th
  nearest real neighbour). Recall: the fraction of reals inside some fake sample's ball. Distances are
  computed in float64 blocks of `block` rows, so memory stays O(block * N). `real_sq_radii_N`, if
  given, is `knn_sq_radii(real_feats_NxF, k)` computed once for many calls.
  """
  real = np.asarray(real_feats_NxF, np.float64)
  fake = np.asarray(fake_feats_MxF, np.float64)
  real_radii_N = knn_sq_radii(real, k, block) if real_sq_radii_N is None else real_sq_radii_N
  fake_radii_M = knn_sq_radii(fake, k, block)
  real_sq_N = np.sum(real * real, axis=1)
  fake_in_real = np.zeros(fake.shape[0], bool)
  real_in_fake = np.zeros(real.shape[0], bool)
  for start in range(0, fake.shape[0], block):
    d_BxN = _sq_dists(fake[start:start + block], real, real_sq_N)
    fake_in_real[start:start + block] = np.any(d_BxN <= real_radii_N[None, :], axis=1)
    real_in_fake |= np.any(d_BxN <= fake_radii_M[start:start + block, None], axis=0)
  return float(fake_in_real.mean()), float(real_in_fake.mean())
