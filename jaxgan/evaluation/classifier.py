"""Sample quality in the feature space of a frozen classifier of the dataset's images.

The evaluator is a small LeNet-style CNN (`Classifier`), one per dataset: MNIST's and
Fashion-MNIST's ship with the package, and `experiments.train_evaluator` trains one for any
labelled dataset or image folder. It takes images of its shape (28x28x1 for MNIST) either as uint8
in [0, 255] or as floats already in [0, 1] (never [-1, 1]: map generator output with
`data.to_uint8` first). Its penultimate layer (128 ReLU units) gives the features, its last layer
the class logits.

The metrics are the pure functions of `feature_metrics`. `evaluate_images` computes all of them
for a set of generated images and divides each by its value for real data at the same N: the last
10k images of the train split against the 10k test split.
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

from jaxgan.errors import JaxganError
from jaxgan.evaluation import feature_metrics

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "weights")
WEIGHTS_FILE, INFO_FILE = "evaluator.msgpack", "evaluator.json"  # MNIST's; others add their name.
MNIST_SHAPE, NUM_CLASSES = (28, 28, 1), 10  # The shape of the evaluators whose record omits it.
FEATURE_DIM = 128
HELDOUT_NUM = 10_000


class Classifier(nnx.Module):
  """img_NxHxWxC -> Conv5x5/2(32) -> Conv5x5/2(64) -> Dense(128) = features -> Dense(K), ReLU.

  Strided convolutions stand in for LeNet's max pooling, whose gradient is slow on CPU (a 3x3-conv +
  pooling variant took 3.5x longer per training step).
  """

  def __init__(self, image_shape: tuple[int, int, int] = MNIST_SHAPE,
               num_classes: int = NUM_CLASSES, *, dropout_rate: float = 0.5, rngs: nnx.Rngs):
    height, width, channels = image_shape
    self.conv1 = nnx.Conv(channels, 32, (5, 5), strides=(2, 2), padding="SAME", rngs=rngs)
    self.conv2 = nnx.Conv(32, 64, (5, 5), strides=(2, 2), padding="SAME", rngs=rngs)
    self.fc = nnx.Linear(-(-height // 4) * -(-width // 4) * 64, FEATURE_DIM, rngs=rngs)
    self.dropout = nnx.Dropout(dropout_rate)
    self.out = nnx.Linear(FEATURE_DIM, num_classes, rngs=rngs)

  def __call__(self, images_NxHxWxC: jax.Array,
               dropout_key: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """(features_NxF, logits_NxK); dropout is applied only when `dropout_key` is given (training)."""
    x = to_unit_float(images_NxHxWxC)
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
  image_shape: tuple[int, int, int] = MNIST_SHAPE
  num_classes: int = NUM_CLASSES


def init_evaluator(key: jax.Array, image_shape: tuple[int, int, int] = MNIST_SHAPE,
                   num_classes: int = NUM_CLASSES) -> Evaluator:
  """A freshly initialised evaluator of `image_shape` images in `num_classes` classes
  (deterministic in `key`)."""
  image_shape = tuple(int(d) for d in image_shape)
  classifier = Classifier(image_shape, num_classes, rngs=nnx.Rngs(key))
  graphdef, params = nnx.split(classifier, nnx.Param)
  return Evaluator(graphdef, nnx.to_pure_dict(params), image_shape, num_classes)


def apply(evaluator_graphdef, params: dict, images_NxHxWxC: jax.Array,
          dropout_key: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
  """(features_NxF, logits_NxK) of the classifier with `params` (pure; jit-friendly)."""
  return nnx.merge(evaluator_graphdef, params)(images_NxHxWxC, dropout_key)


@functools.partial(jax.jit, static_argnums=0)
def _apply_jit(graphdef, params, images_NxHxWxC):
  return apply(graphdef, params, images_NxHxWxC)


def features_and_logits(evaluator: Evaluator, images_NxHxWxC, batch_size: int = 1000
                        ) -> tuple[np.ndarray, np.ndarray]:
  """Penultimate features and logits of uint8 (or [0, 1] float) images, in jitted batches.

  The last batch is padded to `batch_size`, so one compilation serves any N.

  Returns:
    (features_NxF float32, logits_NxK float32) numpy arrays.
  """
  images_NxHxWxC = np.asarray(images_NxHxWxC)
  num = images_NxHxWxC.shape[0]
  features, logits = [], []
  for start in range(0, num, batch_size):
    batch = images_NxHxWxC[start:start + batch_size]
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


def evaluator_files(dataset: str = "mnist") -> tuple[str, str]:
  """(weights, info) file names of `dataset`'s evaluator in a weights folder."""
  if dataset == "mnist":
    return WEIGHTS_FILE, INFO_FILE
  return f"evaluator_{dataset}.msgpack", f"evaluator_{dataset}.json"


def has_evaluator(dataset: str, directory: str = WEIGHTS_DIR) -> bool:
  """Whether `directory` holds an evaluator of `dataset`."""
  return os.path.isfile(os.path.join(directory, evaluator_files(dataset)[1]))


def save_evaluator(evaluator: Evaluator, directory: str, info: dict, dataset: str = "mnist") -> dict:
  """Writes the params (msgpack) and a JSON with their sha256 plus `info`; returns that JSON's dict."""
  os.makedirs(directory, exist_ok=True)
  weights_file, info_file = evaluator_files(dataset)
  weights_path = os.path.join(directory, weights_file)
  params = jax.tree.map(np.asarray, evaluator.params)
  with open(weights_path, "wb") as f:
    f.write(flax.serialization.msgpack_serialize(params))
  record = dict(file=weights_file, dataset=dataset, sha256=sha256_of(weights_path),
                image_shape=list(evaluator.image_shape), num_classes=evaluator.num_classes, **info)
  with open(os.path.join(directory, info_file), "w") as f:
    json.dump(record, f, indent=2)
    f.write("\n")
  return record


def load_evaluator(directory: str = WEIGHTS_DIR, dataset: str = "mnist") -> Evaluator:
  """Loads `dataset`'s evaluator weights after checking their sha256 against their JSON record,
  which also gives its image shape and classes.

  Raises:
    JaxganError: the files are missing or the weights do not match their recorded sha256.
  """
  weights_file, info_file = evaluator_files(dataset)
  info_path, weights_path = os.path.join(directory, info_file), os.path.join(directory, weights_file)
  if not (os.path.exists(info_path) and os.path.exists(weights_path)):
    raise JaxganError(f"no {dataset} evaluator weights in {directory}; run python -m "
                      f"experiments.train_evaluator --dataset={dataset}")
  with open(info_path) as f:
    record = json.load(f)
  found = sha256_of(weights_path)
  if found != record["sha256"]:
    raise JaxganError(f"{weights_path}: sha256 {found} does not match {record['sha256']} in "
                      f"{info_file}")
  template = init_evaluator(jax.random.PRNGKey(0), record.get("image_shape", MNIST_SHAPE),
                            record.get("num_classes", NUM_CLASSES))
  with open(weights_path, "rb") as f:
    params = flax.serialization.from_bytes(template.params, f.read())
  return dataclasses.replace(template, params=jax.tree.map(jnp.asarray, params))


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
  return RealReference(test_features, feature_metrics.knn_sq_radii(test_features), heldout_features,
                       heldout_logits)


def set_metrics(features_NxF, logits_NxC, reference: RealReference, *, kid_subsets: int = 100,
                kid_subset_size: int = 1000, seed: int = 0) -> dict[str, float]:
  """fcd, kid, kid_std, precision, recall against the test features; mnist_score and class_kl."""
  kid_mean, kid_std = feature_metrics.kid(features_NxF, reference.test_features, kid_subsets,
                                          kid_subset_size, seed)
  precision, recall = feature_metrics.precision_recall(
      reference.test_features, features_NxF, real_sq_radii_N=reference.test_sq_radii)
  return dict(fcd=feature_metrics.fcd(features_NxF, reference.test_features), kid=kid_mean,
              kid_std=kid_std, mnist_score=feature_metrics.mnist_score(logits_NxC),
              class_kl=feature_metrics.class_kl(logits_NxC), precision=precision, recall=recall)


def real_baseline(reference: RealReference, num: int, *, kid_subsets: int = 100) -> dict[str, float]:
  """`set_metrics` of the first `num` held-out images (cached by (num, kid_subsets) in `reference`)."""
  if not 2 <= num <= reference.heldout_features.shape[0]:
    raise ValueError(f"baseline N={num} must be in [2, {reference.heldout_features.shape[0]}]")
  if (num, kid_subsets) not in reference.baselines:
    reference.baselines[num, kid_subsets] = set_metrics(
        reference.heldout_features[:num], reference.heldout_logits[:num], reference,
        kid_subsets=kid_subsets)
  return reference.baselines[num, kid_subsets]


def evaluate_images(evaluator: Evaluator, fake_images_NxHxWxC, reference: RealReference, *,
                    kid_subsets: int = 100, labels_N: np.ndarray | None = None) -> dict[str, float]:
  """All metrics of generated uint8 (or [0, 1] float) images, their real baseline and the ratios.

  N = len(fake_images_NxHxWxC) must be at most 10k (the held-out set's size). Fewer `kid_subsets`
  make a cheaper, noisier KID (e.g. for evaluations during training).

  Returns:
    A flat dict of floats: `num`; for each metric m of `set_metrics`, m (the generated set's value),
    real_m (real held-out images at the same N) and m_ratio = m / real_m (nan when real_m is 0).
    With `labels_N`, the classes the images were asked to show: also `label_accuracy`, the fraction
    the evaluator reads as their label, and `label_accuracy_min`, that fraction for the worst class.
  """
  features, logits = features_and_logits(evaluator, fake_images_NxHxWxC)
  fake = set_metrics(features, logits, reference, kid_subsets=kid_subsets)
  real = real_baseline(reference, features.shape[0], kid_subsets=kid_subsets)
  result = {"num": float(features.shape[0])}
  for name, value in fake.items():
    result[name] = value
    result[f"real_{name}"] = real[name]
    result[f"{name}_ratio"] = value / real[name] if real[name] != 0 else float("nan")
  if labels_N is not None:
    correct_N = np.argmax(logits, axis=1) == labels_N
    result["label_accuracy"] = float(np.mean(correct_N))
    result["label_accuracy_min"] = float(min(np.mean(correct_N[labels_N == c])
                                             for c in np.unique(labels_N)))
  return result
