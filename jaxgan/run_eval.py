"""Evaluation of a training run's generator: samples from a state, metrics against its real data, and the
best checkpoint by FCD (kept in WORKDIR/checkpoints_best/, beside the latest ones in checkpoints/).
"""

import logging
import math
import os
from collections.abc import Callable

import jax
import numpy as np

from jaxgan import checkpoint as checkpoint_lib
from jaxgan import datasets, evaluation, image_folder, rng, sampling
from jaxgan import workdir as workdir_lib
from jaxgan.errors import ConfigError
from jaxgan.state import GANState

log = logging.getLogger(__name__)
EVAL_FILE = "eval.json"

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
  return evaluation.WEIGHTS_DIR, data_config.dataset


def load_evaluator(data_config) -> evaluation.Evaluator:
  """The evaluator of the run's images (`evaluation.load_evaluator` at `evaluator_location`)."""
  directory, name = evaluator_location(data_config)
  return evaluation.load_evaluator(directory, name)


def real_splits(data_config) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  """(train images, train labels, test images, test labels) of the run's images: the dataset's
  splits, or an image folder's `image_folder.split_indices`."""
  train_images, train_labels = datasets.load_split(data_config, "train")
  if data_config.source == "folder":
    train_idx, test_idx = image_folder.split_indices(len(train_images))
    return (train_images[train_idx], train_labels[train_idx], train_images[test_idx],
            train_labels[test_idx])
  return (train_images, train_labels, *datasets.load_split(data_config, "test"))


def load_reference(evaluator: evaluation.Evaluator, data_config) -> evaluation.RealReference:
  """The reference of the run's images: the test split and the last 10k of the train split.

  Raises:
    ConfigError: the evaluator classifies images of another shape than the run's.
  """
  train_images, _, test_images, _ = real_splits(data_config)
  if tuple(test_images.shape[1:]) != tuple(evaluator.image_shape):
    raise ConfigError(
        f"the evaluator classifies {'x'.join(map(str, evaluator.image_shape))} images, the run's "
        f"are {'x'.join(map(str, test_images.shape[1:]))}; set --config.data.image_size and "
        "--config.data.channels as its train_evaluator command did")
  return evaluation.make_reference(evaluator, test_images, train_images[-evaluation.HELDOUT_NUM:])


def missing_evaluator(data_config) -> str | None:
  """Why the run's images have no evaluator (one line), or None when they have one."""
  directory, name = evaluator_location(data_config)
  if evaluation.has_evaluator(name, directory):
    return None
  if data_config.source == "folder":
    return (f"no evaluator for the images in {data_config.folder}; with class subfolders, python -m "
            f"experiments.train_evaluator --folder={data_config.folder} trains one (into "
            f"{directory})")
  return (f"no {name} evaluator in {directory}; python -m experiments.train_evaluator "
          f"--dataset={name} trains one")


def check_num(num: int, reference: evaluation.RealReference, what: str) -> None:
  """ConfigError unless `num` samples have a real baseline (2 <= num <= held-out images)."""
  limit = reference.heldout_features.shape[0]
  if not 2 <= num <= limit:
    raise ConfigError(f"{what}: got {num}, expected an integer in [2, {limit}] (the real held-out "
                      "set's size)")


def evaluate_state(sample: SampleFn, state: GANState, key: jax.Array, num: int,
                   evaluator: evaluation.Evaluator, reference: evaluation.RealReference, *,
                   kid_subsets: int = 100, num_classes: int = 0) -> dict[str, float]:
  """`evaluation.evaluate_images` of `num` samples of `state` drawn with `key`; a conditional
  generator's (`num_classes` > 0) are asked for the classes in turn, and scored on them too."""
  images_NxHxWxC = sample(state, key, num)
  labels_N = sampling.cycling_labels(num_classes, num)
  return evaluation.evaluate_images(evaluator, images_NxHxWxC, reference, kid_subsets=kid_subsets,
                                    labels_N=None if labels_N is None else np.asarray(labels_N))


def summary(metrics: dict[str, float]) -> str:
  """One human-readable line of the main metrics."""
  return (f"N={int(metrics['num'])}: FCD {metrics['fcd']:.3f} ({metrics['fcd_ratio']:.2f}x real), "
          f"KID {metrics['kid']:.4f}, score {metrics['mnist_score']:.3f} "
          f"(real {metrics['real_mnist_score']:.3f}), class KL {metrics['class_kl']:.4f}, "
          f"precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f}"
          + (f", label accuracy {metrics['label_accuracy']:.4f} (worst class "
             f"{metrics['label_accuracy_min']:.4f})" if "label_accuracy" in metrics else ""))


def write_eval_json(workdir: str, record: dict) -> str:
  """Writes `record` to WORKDIR/eval.json (atomically); returns the path."""
  path = os.path.join(workdir, EVAL_FILE)
  workdir_lib.write_json(path, record)
  return path


class BestCheckpoint:
  """The single checkpoint of a run with the lowest FCD so far, in WORKDIR/checkpoints_best/.

  Its run_info holds `fcd` and `eval_num`, so a resumed run goes on comparing against it; FCDs at
  another N are not comparable, so a best saved with another `eval_num` is replaced by the next one.
  """

  def __init__(self, workdir: str, eval_num: int):
    self.eval_num = eval_num
    self._ckpts = checkpoint_lib.Checkpoints(os.path.join(workdir, workdir_lib.BEST_DIR), keep=1)
    self.fcd, self.step = math.inf, None
    latest = self._ckpts.latest_step()
    if latest is not None:
      info = self._ckpts.run_info(latest)
      if info.get("eval_num") == eval_num:
        self.fcd, self.step = float(info["fcd"]), latest

  def update(self, state: GANState, step: int, fcd: float, run_info: dict) -> bool:
    """Saves `state` as the best if `fcd` is lower than the best's; returns whether it did."""
    if not fcd < self.fcd or step in self._ckpts.all_steps():
      return False
    self._ckpts.save(state, step, dict(run_info, fcd=fcd, eval_num=self.eval_num))
    self.fcd, self.step = fcd, step
    return True

  def close(self) -> None:
    self._ckpts.close()


class TrainingEvaluation:
  """Evaluations during training, as the config asks.

  Every `eval_every_steps` steps and at the last step (when `eval_every_steps` > 0), `eval_num`
  samples are evaluated with a cheaper KID, and the state is kept in checkpoints_best/ when its FCD is
  the lowest so far. After the last step, `eval_final_num` samples (0: none) are evaluated in full and
  written to eval.json. Every sample uses the same noise, `eval_key(config.seed)`, and the dataset's
  own evaluator; `enabled` is False when it has none or the config asks for no evaluation.
  """

  TRAINING_KID_SUBSETS = 10

  def __init__(self, config, workdir: str, sample: SampleFn, num_classes: int):
    self.workdir, self.sample, self.num_classes = workdir, sample, num_classes
    self.every, self.num, self.final_num = (config.eval_every_steps, config.eval_num,
                                            config.eval_final_num)
    self.key = eval_key(config.seed)
    missing = missing_evaluator(config.data)
    self.enabled = missing is None and (self.every > 0 or self.final_num > 0)
    if missing and (self.every > 0 or self.final_num > 0):
      log.info("evaluation skipped: %s", missing)
    self.best = None
    if not self.enabled:
      return
    self.evaluator = load_evaluator(config.data)
    self.reference = load_reference(self.evaluator, config.data)
    if self.every > 0:
      check_num(self.num, self.reference, "config.eval_num")
      self.best = BestCheckpoint(workdir, self.num)
    if self.final_num > 0:
      check_num(self.final_num, self.reference, "config.eval_final_num")

  def periodic(self, state: GANState, step: int, run_info: dict) -> tuple[dict[str, float], bool]:
    """(metrics, whether the state became the best checkpoint)."""
    metrics = evaluate_state(self.sample, state, self.key, self.num, self.evaluator, self.reference,
                             kid_subsets=self.TRAINING_KID_SUBSETS, num_classes=self.num_classes)
    return metrics, self.best.update(state, step, metrics["fcd"], run_info)

  def final(self, state: GANState, step: int, write: bool) -> dict[str, float] | None:
    """The full evaluation of the final state (None when `eval_final_num` is 0); `write`: eval.json."""
    if not self.enabled or self.final_num == 0:
      return None
    metrics = evaluate_state(self.sample, state, self.key, self.final_num, self.evaluator,
                             self.reference, num_classes=self.num_classes)
    if write:
      write_eval_json(self.workdir, dict(step=step, checkpoint="latest", **metrics))
    return metrics

  def close(self) -> None:
    if self.best is not None:
      self.best.close()
