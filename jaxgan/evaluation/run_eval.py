"""Evaluation of a training run's generator: samples from a state and metrics against its real data."""

import logging
import os
from collections.abc import Callable

import jax
import numpy as np

from jaxgan import rng
from jaxgan.core import sampling
from jaxgan.core.state import GANState
from jaxgan.data import image_folder, splits
from jaxgan.errors import ConfigError
from jaxgan.evaluation import classifier, reference_cache
from jaxgan.evaluation.inception import features as inception_features
from jaxgan.evaluation.inception import metrics as inception_metrics

log = logging.getLogger(__name__)

# sample(state, key, num) -> uint8 images_NxHxWxC from the state's sampling (EMA) weights.
SampleFn = Callable[[GANState, jax.Array, int], np.ndarray]


def eval_key(seed: int) -> jax.Array:
  """The key of a run's evaluation noise: the same for every evaluation of a run."""
  return rng.stream_key(seed, rng.EVAL)


def evaluator_location(data_config) -> tuple[str, str]:
  """(directory, name) of the evaluator of the run's images: a dataset's ships in the package, an
  image folder's is in FOLDER/.jaxgan/ (`experiments.train_evaluator`)."""
  if data_config.source == "folder":
    return os.path.join(data_config.folder, image_folder.EVALUATOR_DIR), "folder"
  return classifier.WEIGHTS_DIR, data_config.dataset


def load_evaluator(data_config) -> classifier.Evaluator:
  """The evaluator of the run's images (`classifier.load_evaluator` at `evaluator_location`)."""
  directory, name = evaluator_location(data_config)
  return classifier.load_evaluator(directory, name)


def real_splits(data_config) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  """(train images, train labels, test images, test labels) of the run's images: the dataset's
  splits, or an image folder's `image_folder.split_indices`."""
  train_images, train_labels = splits.load_split(data_config, "train")
  if data_config.source == "folder":
    train_idx, test_idx = image_folder.split_indices(len(train_images))
    return (train_images[train_idx], train_labels[train_idx], train_images[test_idx],
            train_labels[test_idx])
  return (train_images, train_labels, *splits.load_split(data_config, "test"))


def load_reference(evaluator: classifier.Evaluator, data_config) -> classifier.RealReference:
  """The reference of the run's images: the test split and the last 10k of the train split (read
  from the user's cache folder once computed: `reference_cache`).

  Raises:
    ConfigError: the evaluator classifies images of another shape than the run's.
  """
  train_images, _, test_images, _ = real_splits(data_config)
  if tuple(test_images.shape[1:]) != tuple(evaluator.image_shape):
    raise ConfigError(
        f"the evaluator classifies {'x'.join(map(str, evaluator.image_shape))} images, the run's "
        f"are {'x'.join(map(str, test_images.shape[1:]))}; set --config.data.image_size and "
        "--config.data.channels as its train_evaluator command did")
  return reference_cache.cached_reference(evaluator, test_images,
                                          train_images[-classifier.HELDOUT_NUM:])


def missing_evaluator(data_config) -> str | None:
  """Why the run's images have no evaluator (one line), or None when they have one."""
  directory, name = evaluator_location(data_config)
  if classifier.has_evaluator(name, directory):
    return None
  if data_config.source == "folder":
    return (f"no evaluator for the images in {data_config.folder}; with class subfolders, python -m "
            f"experiments.train_evaluator --folder={data_config.folder} trains one (into "
            f"{directory})")
  return (f"no {name} evaluator in {directory}; python -m experiments.train_evaluator "
          f"--dataset={name} trains one")


def check_num(num: int, reference: classifier.RealReference, what: str) -> None:
  """ConfigError unless `num` samples have a real baseline (2 <= num <= held-out images)."""
  limit = reference.heldout_features.shape[0]
  if not 2 <= num <= limit:
    raise ConfigError(f"{what}: got {num}, expected an integer in [2, {limit}] (the real held-out "
                      "set's size)")


def evaluate_state(sample: SampleFn, state: GANState, key: jax.Array, num: int,
                   evaluator: classifier.Evaluator, reference: classifier.RealReference, *,
                   kid_subsets: int = 100, num_classes: int = 0) -> dict[str, float]:
  """`classifier.evaluate_images` of `num` samples of `state` drawn with `key`; a conditional
  generator's (`num_classes` > 0) are asked for the classes in turn, and scored on them too."""
  images_NxHxWxC = sample(state, key, num)
  labels_N = sampling.cycling_labels(num_classes, num)
  return classifier.evaluate_images(evaluator, images_NxHxWxC, reference, kid_subsets=kid_subsets,
                                    labels_N=None if labels_N is None else np.asarray(labels_N))


def summary(metrics: dict[str, float]) -> str:
  """One human-readable line of the main metrics."""
  if "fid" in metrics:
    return (f"N={int(metrics['num'])}: FID {metrics['fid']:.3f}, KID {metrics['kid']:.4f}, IS "
            f"{metrics['is_fake']:.3f} (real {metrics['is_real']:.3f})"
            + (f", precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f}"
               if "precision" in metrics else ""))
  return (f"N={int(metrics['num'])}: FCD {metrics['fcd']:.3f} ({metrics['fcd_ratio']:.2f}x real), "
          f"KID {metrics['kid']:.4f}, score {metrics['mnist_score']:.3f} "
          f"(real {metrics['real_mnist_score']:.3f}), class KL {metrics['class_kl']:.4f}, "
          f"precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f}"
          + (f", label accuracy {metrics['label_accuracy']:.4f} (worst class "
             f"{metrics['label_accuracy_min']:.4f})" if "label_accuracy" in metrics else ""))


def evaluate_run(config, state: GANState, spec, num: int, *, seed: int | None = None,
                 kid_subsets: int = 100, truncation: float = 0.0) -> dict[str, float]:
  """The metrics of `num` samples of a run's `state` (its config and spec) against its real data,
  with its evaluation noise (`eval_key(seed)`, default config.seed) and `config.sampling`.

  Raises:
    ConfigError: the run's images have no evaluator, or `num` exceeds its real reference.
  """
  missing = missing_evaluator(config.data)
  if missing:
    raise ConfigError(missing)
  evaluator = load_evaluator(config.data)
  reference = load_reference(evaluator, config.data)
  check_num(num, reference, "--num")
  key = eval_key(config.seed if seed is None else seed)
  sample = sampling.Sampler(spec, config.sampling, config.seed, truncation)
  return evaluate_state(sample, state, key, num, evaluator, reference, kid_subsets=kid_subsets,
                        num_classes=spec.label_classes)


class InceptionEvaluation:
  """FID, KID, Inception Score and precision/recall in the Inception features (pytorch-fid's network
  and weights, clean-fid's resize: docs/fid.md) of a run's samples against its real held-out images
  (a dataset's test split, a folder's every 7th image). Needs no labels and no evaluator: any
  images, an unlabelled folder's included. The network and the real statistics load once."""

  def __init__(self, data_config, fid_weights: str | None = None):
    self.extractor = inception_features.Extractor.load(fid_weights)
    self.real = inception_metrics.array_stats(real_splits(data_config)[2], self.extractor)

  def __call__(self, sample: SampleFn, state: GANState, key: jax.Array, num: int, *,
               kid_subsets: int = 100) -> dict[str, float]:
    """The metrics of `num` samples of `state` drawn with `key` (precision and recall left out
    when a set has 3 images or fewer)."""
    images = sample(state, key, num)
    fake = inception_metrics.set_stats(*self.extractor(images), self.extractor.fc_bias)
    metrics = inception_metrics.compare(self.real, fake, kid_subsets=kid_subsets)
    return dict(num=num, **{k: v for k, v in metrics.items() if v is not None})


def evaluate_run_inception(config, state: GANState, spec, num: int, *, seed: int | None = None,
                           truncation: float = 0.0, fid_weights: str | None = None,
                           kid_subsets: int = 100) -> dict[str, float]:
  """`InceptionEvaluation` of `num` samples of a run's `state`, with its evaluation noise."""
  sample = sampling.Sampler(spec, config.sampling, config.seed, truncation)
  key = eval_key(config.seed if seed is None else seed)
  return InceptionEvaluation(config.data, fid_weights)(sample, state, key, num,
                                                       kid_subsets=kid_subsets)
