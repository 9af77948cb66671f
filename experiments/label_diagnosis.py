"""Why class labels can make a conditional GAN worse than self-conditioning: per-class measurements.

  python -m experiments.label_diagnosis --generators=mnist_cgan,mnist_dcgan,OLD/mnist_cgan.json [--num=1000]

Prints, as JSON lines:
- `modes`: for each class of the training set, how many of 50 k-means clusters of the pixels
  (seed 0) hold >= 5% of its images, and the largest cluster's share;
- `purity`: for each number of clusters in --purity_clusters, the share of training images whose
  k-means cluster's majority class is their own (how well self-conditioning's clusters separate
  the classes it never sees);
- per generator (a pretrained name or a run's workdir) and class: precision and recall (k = 3, in
  the evaluator's features) of `num` samples of that class against the real test images of that
  class, and the evaluator's accuracy on them;
- `ceiling`: the evaluator's accuracy on the real test images of each class. A conditional generator's samples are asked for the
  class; an unconditional one's are assigned to the class the evaluator predicts.
"""

import json
import os

import jax
import numpy as np
from absl import flags

from jaxgan.cli import entry
from jaxgan.config import schema
from jaxgan.core import sampling
from jaxgan.data import clusters, splits
from jaxgan.evaluation import classifier, feature_metrics, run_eval
from jaxgan.run import pretrained, restore

_GENERATORS = flags.DEFINE_list("generators", ["mnist_cgan", "mnist_dcgan"],
                                "Pretrained names, run workdirs or a pretrained DIR/NAME.json.")
_NUM = flags.DEFINE_integer("num", 1000, "Samples per class.")
_DATASET = flags.DEFINE_string("dataset", "mnist", "The dataset (its evaluator scores the samples).")
_IDX_DIR = flags.DEFINE_string("idx_dir", "", "Read the dataset from these IDX files, not TFDS.")
_PURITY_CLUSTERS = flags.DEFINE_list("purity_clusters", ["50", "100", "200", "400"],
                                     "Cluster counts whose purity is printed.")


MODES_CLUSTERS = 50


def _modes(cluster_N, labels_N) -> list[dict]:
  """Per class: how many of the MODES_CLUSTERS clusters hold >= 5% of it, and the largest share."""
  rows = []
  for c in range(10):
    share_K = (np.bincount(cluster_N[labels_N == c], minlength=MODES_CLUSTERS)
               / np.sum(labels_N == c))
    rows.append(dict(cls=c, clusters_over_5pct=int(np.sum(share_K >= 0.05)),
                     largest_share=round(float(share_K.max()), 3)))
  return rows


def _purity(cluster_N, labels_N, num_clusters: int) -> float:
  """The share of images whose cluster's most frequent class is their own."""
  counts_KxC = np.zeros((num_clusters, 10), np.int64)
  np.add.at(counts_KxC, (cluster_N, labels_N), 1)
  return float(counts_KxC.max(axis=1).sum() / len(labels_N))


def _class_samples(name: str, evaluator, num: int) -> list[np.ndarray]:
  """Per class, uint8 samples of that class (asked for, or as the evaluator reads them)."""
  if name.endswith(".json"):  # A pretrained generator's files elsewhere: DIR/NAME.json.
    config, state, spec = pretrained.load(os.path.basename(name)[:-5], os.path.dirname(name))
  elif name in pretrained.NAMES:
    config, state, spec = pretrained.load(name)
  else:
    config, state, spec = restore.restore_run(name, best=False)
  key = jax.random.PRNGKey(1)
  if spec.label_classes:
    return [sampling.generate(spec, state, *sampling.class_inputs(spec, jax.random.fold_in(key, c),
                                                                  num, c),
                              mode=config.sampling, seed=config.seed) for c in range(10)]
  images = sampling.sample_images(spec, state, key, 10 * num, mode=config.sampling,
                                  seed=config.seed)
  predicted = classifier.features_and_logits(evaluator, images)[1].argmax(1)
  return [images[predicted == c] for c in range(10)]


def main():
  data = schema.default_config().data
  data.dataset = _DATASET.value
  if _IDX_DIR.value:
    data.source, data.idx_dir = "idx", _IDX_DIR.value
  train_images, train_labels = splits.load_split(data, "train")
  cluster_N_by_k = {k: clusters.cluster_labels(train_images, k, seed=0)[0]
                    for k in {MODES_CLUSTERS, *map(int, _PURITY_CLUSTERS.value)}}
  for row in _modes(cluster_N_by_k[MODES_CLUSTERS], train_labels):
    print(json.dumps(dict(kind="modes", **row)), flush=True)
  for k in map(int, _PURITY_CLUSTERS.value):
    purity = _purity(cluster_N_by_k[k], train_labels, k)
    print(json.dumps(dict(kind="purity", clusters=k, purity=round(purity, 4))), flush=True)
  evaluator = run_eval.load_evaluator(data)
  test_images, test_labels = splits.load_split(data, "test")
  real_feats, real_logits = classifier.features_and_logits(evaluator, test_images)
  for c in range(10):
    correct = real_logits[test_labels == c].argmax(1) == c
    print(json.dumps(dict(kind="ceiling", cls=c, accuracy=round(float(np.mean(correct)), 4))))
  for name in _GENERATORS.value:
    for c, images in enumerate(_class_samples(name, evaluator, _NUM.value)):
      feats, logits = classifier.features_and_logits(evaluator, images)
      precision, recall = feature_metrics.precision_recall(real_feats[test_labels == c], feats)
      print(json.dumps(dict(kind="class", generator=name, cls=c, num=len(images),
                            precision=round(precision, 3), recall=round(recall, 3),
                            accuracy=round(float(np.mean(logits.argmax(1) == c)), 4))), flush=True)


if __name__ == "__main__":
  entry.run(main)
