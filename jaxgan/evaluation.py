"""Sample quality in the feature space of a frozen MNIST classifier shipped with the package.

The evaluator is a small LeNet-style CNN (`Classifier`). It takes 28x28x1 images either as uint8 in
[0, 255] or as floats already in [0, 1] (never [-1, 1]: map generator output with `data.to_uint8`
first). Its penultimate layer (128 ReLU units) gives the features, its last layer the 10 class logits.

Metrics are pure functions of feature or logit arrays, computed in float64 numpy:
`fcd` (Frechet classifier distance), `kid` (kernel distance), `mnist_score` (the Inception-score
formula), `class_kl` (class histogram vs uniform) and `precision_recall` (k-NN manifolds).
`evaluate_images` computes all of them for a set of generated images and divides each by its value
for real data at the same N: the last 10k images of the train split against the 10k test split.
"""

import dataclasses
import functools
import hashlib
import json
import os
from typing import Any

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxgan import data as data_lib
from jaxgan.errors import JaxganError

WEIGHTS_DIR = os.path.join(os.path.dirname(__file__), "weights")
WEIGHTS_FILE = "evaluator.msgpack"
INFO_FILE = "evaluator.json"
NUM_CLASSES = 10
FEATURE_DIM = 128
HELDOUT_NUM = 10_000


class Classifier(nnx.Module):
  """img_Nx28x28x1 -> Conv5x5/2(32) -> Conv5x5/2(64) -> Dense(128) = features -> Dense(10), ReLU.

  Strided convolutions stand in for LeNet's max pooling, whose gradient is slow on CPU (a 3x3-conv +
  pooling variant took 3.5x longer per training step).
  """

  def __init__(self, *, dropout_rate: float = 0.5, rngs: nnx.Rngs):
    self.conv1 = nnx.Conv(1, 32, (5, 5), strides=(2, 2), padding="SAME", rngs=rngs)
    self.conv2 = nnx.Conv(32, 64, (5, 5), strides=(2, 2), padding="SAME", rngs=rngs)
    self.fc = nnx.Linear(7 * 7 * 64, FEATURE_DIM, rngs=rngs)
    self.dropout = nnx.Dropout(dropout_rate)
    self.out = nnx.Linear(FEATURE_DIM, NUM_CLASSES, rngs=rngs)

  def __call__(self, images_NxHxWx1: jax.Array,
               dropout_key: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """(features_NxF, logits_Nx10); dropout is applied only when `dropout_key` is given (training)."""
    x = to_unit_float(images_NxHxWx1)
    x = jax.nn.relu(self.conv1(x))
    x = jax.nn.relu(self.conv2(x))
    features_NxF = jax.nn.relu(self.fc(x.reshape((x.shape[0], -1))))
    h = self.dropout(features_NxF, deterministic=dropout_key is None, rngs=dropout_key)
    return features_NxF, self.out(h)


def to_unit_float(images: jax.Array) -> jax.Array:
  """uint8 [0, 255] -> float32 [0, 1]; float input is taken to be in [0, 1] already."""
  if images.dtype == jnp.uint8:
    return images.astype(jnp.float32) / 255.0
  return images.astype(jnp.float32)


@dataclasses.dataclass(frozen=True)
class Evaluator:
  """A classifier split for functional use: `nnx.merge(graphdef, params)` rebuilds it."""
  graphdef: Any
  params: dict


def init_evaluator(key: jax.Array) -> Evaluator:
  """A freshly initialised evaluator (deterministic in `key`)."""
  graphdef, params = nnx.split(Classifier(rngs=nnx.Rngs(key)), nnx.Param)
  return Evaluator(graphdef, nnx.to_pure_dict(params))


def apply(evaluator_graphdef, params: dict, images_NxHxWx1: jax.Array,
          dropout_key: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
  """(features_NxF, logits_Nx10) of the classifier with `params` (pure; jit-friendly)."""
  return nnx.merge(evaluator_graphdef, params)(images_NxHxWx1, dropout_key)


@functools.partial(jax.jit, static_argnums=0)
def _apply_jit(graphdef, params, images_NxHxWx1):
  return apply(graphdef, params, images_NxHxWx1)


def features_and_logits(evaluator: Evaluator, images_NxHxWx1, batch_size: int = 1000
                        ) -> tuple[np.ndarray, np.ndarray]:
  """Penultimate features and logits of uint8 (or [0, 1] float) images, in jitted batches.

  The last batch is padded to `batch_size`, so one compilation serves any N.

  Returns:
    (features_NxF float32, logits_Nx10 float32) numpy arrays.
  """
  images_NxHxWx1 = np.asarray(images_NxHxWx1)
  num = images_NxHxWx1.shape[0]
  features, logits = [], []
  for start in range(0, num, batch_size):
    batch = images_NxHxWx1[start:start + batch_size]
    count = batch.shape[0]
    if count < batch_size:
      batch = np.concatenate([batch, np.zeros((batch_size - count,) + batch.shape[1:], batch.dtype)])
    f, l = _apply_jit(evaluator.graphdef, evaluator.params, batch)
    features.append(np.asarray(f)[:count])
    logits.append(np.asarray(l)[:count])
  return np.concatenate(features), np.concatenate(logits)


def sha256_of(path: str) -> str:
  """Hex sha256 of a file's bytes."""
  with open(path, "rb") as f:
    return hashlib.sha256(f.read()).hexdigest()


def save_evaluator(evaluator: Evaluator, directory: str, info: dict) -> dict:
  """Writes the params (msgpack) and a JSON with their sha256 plus `info`; returns that JSON's dict."""
  os.makedirs(directory, exist_ok=True)
  weights_path = os.path.join(directory, WEIGHTS_FILE)
  params = jax.tree.map(np.asarray, evaluator.params)
  with open(weights_path, "wb") as f:
    f.write(flax.serialization.msgpack_serialize(params))
  record = dict(file=WEIGHTS_FILE, sha256=sha256_of(weights_path), **info)
  with open(os.path.join(directory, INFO_FILE), "w") as f:
    json.dump(record, f, indent=2)
    f.write("\n")
  return record


def load_evaluator(directory: str = WEIGHTS_DIR) -> Evaluator:
  """Loads the shipped evaluator weights after checking their sha256 against evaluator.json.

  Raises:
    JaxganError: the files are missing or the weights do not match their recorded sha256.
  """
  info_path = os.path.join(directory, INFO_FILE)
  weights_path = os.path.join(directory, WEIGHTS_FILE)
  if not (os.path.exists(info_path) and os.path.exists(weights_path)):
    raise JaxganError(f"evaluator weights not found in {directory}; run python -m "
                      "experiments.train_evaluator")
  with open(info_path) as f:
    expected = json.load(f)["sha256"]
  found = sha256_of(weights_path)
  if found != expected:
    raise JaxganError(f"{weights_path}: sha256 {found} does not match {expected} in {INFO_FILE}")
  template = init_evaluator(jax.random.PRNGKey(0))
  with open(weights_path, "rb") as f:
    params = flax.serialization.from_bytes(template.params, f.read())
  return Evaluator(template.graphdef, jax.tree.map(jnp.asarray, params))


# ---------------------------------------------------------------------------------------------
# Metrics: pure functions, float64 numpy.


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
  return (x_NxF @ y_MxF.T / x_NxF.shape[1] + 1.0) ** 3


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


# ---------------------------------------------------------------------------------------------
# Evaluation against real data.


@dataclasses.dataclass
class RealReference:
  """Evaluator outputs of real data: the test split (the reference every set is compared to) and
  the held-out set (the last 10k train images) that gives the real baseline.

  The held-out images are held out of nothing else: the GAN and the evaluator both train on them.
  `baselines` caches the real-data metrics by (N, kid_subsets).
  """
  test_features: np.ndarray
  test_sq_radii: np.ndarray  # knn_sq_radii(test_features), for precision and recall.
  heldout_features: np.ndarray
  heldout_logits: np.ndarray
  baselines: dict = dataclasses.field(default_factory=dict)


def make_reference(evaluator: Evaluator, test_images, heldout_images) -> RealReference:
  """A `RealReference` from uint8 test and held-out images."""
  test_features, _ = features_and_logits(evaluator, test_images)
  heldout_features, heldout_logits = features_and_logits(evaluator, heldout_images)
  return RealReference(test_features, knn_sq_radii(test_features), heldout_features, heldout_logits)


def load_reference(evaluator: Evaluator, data_config) -> RealReference:
  """The reference of `data_config`'s dataset: its test split and the last 10k of its train split."""
  test_images, _ = data_lib.load_split(data_config, "test")
  train_images, _ = data_lib.load_split(data_config, "train")
  return make_reference(evaluator, test_images, train_images[-HELDOUT_NUM:])


def set_metrics(features_NxF, logits_NxC, reference: RealReference, *, kid_subsets: int = 100,
                kid_subset_size: int = 1000, seed: int = 0) -> dict[str, float]:
  """fcd, kid, kid_std, precision, recall against the test features; mnist_score and class_kl."""
  kid_mean, kid_std = kid(features_NxF, reference.test_features, kid_subsets, kid_subset_size, seed)
  precision, recall = precision_recall(reference.test_features, features_NxF,
                                       real_sq_radii_N=reference.test_sq_radii)
  return dict(fcd=fcd(features_NxF, reference.test_features), kid=kid_mean, kid_std=kid_std,
              mnist_score=mnist_score(logits_NxC), class_kl=class_kl(logits_NxC),
              precision=precision, recall=recall)


def real_baseline(reference: RealReference, num: int, *, kid_subsets: int = 100) -> dict[str, float]:
  """`set_metrics` of the first `num` held-out images (cached by (num, kid_subsets) in `reference`)."""
  if not 2 <= num <= reference.heldout_features.shape[0]:
    raise ValueError(f"baseline N={num} must be in [2, {reference.heldout_features.shape[0]}]")
  if (num, kid_subsets) not in reference.baselines:
    reference.baselines[num, kid_subsets] = set_metrics(
        reference.heldout_features[:num], reference.heldout_logits[:num], reference,
        kid_subsets=kid_subsets)
  return reference.baselines[num, kid_subsets]


def evaluate_images(evaluator: Evaluator, fake_images_NxHxWx1, reference: RealReference, *,
                    kid_subsets: int = 100) -> dict[str, float]:
  """All metrics of generated uint8 (or [0, 1] float) images, their real baseline and the ratios.

  N = len(fake_images_NxHxWx1) must be at most 10k (the held-out set's size). Fewer `kid_subsets`
  make a cheaper, noisier KID (e.g. for evaluations during training).

  Returns:
    A flat dict of floats: `num`; for each metric m of `set_metrics`, m (the generated set's value),
    real_m (real held-out images at the same N) and m_ratio = m / real_m (nan when real_m is 0).
  """
  features, logits = features_and_logits(evaluator, fake_images_NxHxWx1)
  fake = set_metrics(features, logits, reference, kid_subsets=kid_subsets)
  real = real_baseline(reference, features.shape[0], kid_subsets=kid_subsets)
  result = {"num": float(features.shape[0])}
  for name, value in fake.items():
    result[name] = value
    result[f"real_{name}"] = real[name]
    result[f"{name}_ratio"] = value / real[name] if real[name] != 0 else float("nan")
  return result
