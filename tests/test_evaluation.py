"""Tests of the evaluator and the sample-quality metrics."""

import json
import os
import pathlib
import sys

import jax
import numpy as np
import pytest
import scipy.linalg

from jaxgan.config.presets import mlp_gan
from jaxgan.data import idx
from jaxgan.errors import JaxganError
from jaxgan.evaluation import classifier, feature_metrics, run_eval
from tests import processes
from tests.conftest import REPO_ROOT, skip_or_fail, write_idx, write_tiny_idx_dir


def _random_spd(rng, dim):
  a = rng.normal(size=(dim, dim))
  return a @ a.T / dim + 0.1 * np.eye(dim)


# --- FCD ---------------------------------------------------------------------------------------

def test_fcd_of_a_set_with_itself_is_zero():
  feats = np.random.default_rng(0).normal(size=(2000, 32)) * 3.0 + 1.0
  assert abs(feature_metrics.fcd(feats, feats)) < 1e-8


def test_frechet_distance_matches_sqrtm_reference():
  rng = np.random.default_rng(1)
  mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
  s1, s2 = _random_spd(rng, 6), _random_spd(rng, 6)
  covmean = scipy.linalg.sqrtm(s1 @ s2).real
  expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2.0 * covmean)
  np.testing.assert_allclose(feature_metrics.frechet_distance(mu1, s1, mu2, s2), expected, rtol=1e-9)


def test_metrics_of_float32_features_are_computed_in_float64():
  # The evaluator's features are float32; every metric casts them, so float32 input gives the
  # float64 result to the last bits.
  rng = np.random.default_rng(6)
  a32 = (rng.normal(size=(300, 16)) * 3.0).astype(np.float32)
  b32 = (rng.normal(0.1, 1.0, size=(200, 16)) * 3.0).astype(np.float32)
  a64, b64 = a32.astype(np.float64), b32.astype(np.float64)
  assert feature_metrics.fcd(a32, b32) == pytest.approx(feature_metrics.fcd(a64, b64), rel=1e-12)
  assert feature_metrics.kid(a32, b32, 3, 100) == pytest.approx(
      feature_metrics.kid(a64, b64, 3, 100), rel=1e-12)
  assert feature_metrics.mnist_score(a32[:, :10] * 8) == pytest.approx(
      feature_metrics.mnist_score(a64[:, :10] * 8), rel=1e-12)
  np.testing.assert_array_equal(feature_metrics.knn_sq_radii(a32), feature_metrics.knn_sq_radii(a64))
  moments32 = [a32.mean(0), np.cov(a32, rowvar=False).astype(np.float32), b32.mean(0),
               np.cov(b32, rowvar=False).astype(np.float32)]
  assert feature_metrics.frechet_distance(*moments32) == pytest.approx(
      feature_metrics.frechet_distance(*[m.astype(np.float64) for m in moments32]), rel=1e-12)


def test_precision_and_recall_do_not_depend_on_the_feature_scale():
  rng = np.random.default_rng(7)
  real, fake = rng.normal(size=(80, 3)), rng.normal(0.4, 1.0, size=(60, 3))
  for scale in (1e-3, 1e3):  # Squared distances far below 1, and far above.
    assert feature_metrics.precision_recall(real * scale, fake * scale) == (
        feature_metrics.precision_recall(real, fake))


def test_fcd_of_fewer_samples_than_features_is_finite():
  # N < F: both covariances are singular, and rounding gives eigenvalues a little below zero.
  rng = np.random.default_rng(5)
  a, b = rng.normal(size=(20, 64)), rng.normal(0.2, 1.0, size=(20, 64))
  assert np.isfinite(feature_metrics.fcd(a, b)) and feature_metrics.fcd(a, b) > 0
  assert abs(feature_metrics.fcd(a, a)) < 1e-4  # sqrt of rounding-level eigenvalues: ~1e-6.


def test_fcd_of_samples_approaches_the_closed_form():
  # Covariances sharing eigenvectors: tr sqrt(S1 S2) = sum sqrt(a_i b_i).
  rng = np.random.default_rng(2)
  dim, num = 5, 200_000
  q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
  a, b = rng.uniform(0.5, 2.0, dim), rng.uniform(0.5, 2.0, dim)
  mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
  x = mu1 + (rng.normal(size=(num, dim)) * np.sqrt(a)) @ q.T
  y = mu2 + (rng.normal(size=(num, dim)) * np.sqrt(b)) @ q.T
  expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
  np.testing.assert_allclose(feature_metrics.fcd(x, y), expected, rtol=0.02)


# --- KID ---------------------------------------------------------------------------------------

def _mmd2_loops(x, y):
  """Unbiased MMD^2 with the cubic polynomial kernel, written with explicit loops."""
  dim, m = x.shape[1], x.shape[0]
  k = lambda u, v: (np.dot(u, v) / dim + 1.0) ** 3
  xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
  yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
  xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
  return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2.0 * xy / m ** 2


def test_kid_matches_loop_reference():
  rng = np.random.default_rng(3)
  x, y = rng.normal(size=(30, 4)), rng.normal(0.5, 1.2, size=(30, 4))
  mean, std = feature_metrics.kid(x, y, num_subsets=2, subset_size=30)
  # A subset of the whole set is a permutation of it, and MMD^2 does not depend on the order.
  np.testing.assert_allclose(mean, _mmd2_loops(x, y), rtol=1e-10)
  assert std < 1e-12


def _expected_kernel(a, b):
  """E k(x, y) for independent x ~ N(a, I), y ~ N(b, I) and k = (x.y / d + 1)^3."""
  c = 1.0 / a.shape[0]
  m0 = c * (a @ b) + 1.0
  return m0 ** 3 + 3 * c ** 2 * m0 * (a @ a + b @ b + a.shape[0]) + 6 * c ** 3 * (a @ b)


def test_kid_of_gaussians_matches_the_closed_form():
  rng = np.random.default_rng(4)
  dim = 4
  a, b = np.full(dim, 1.0), np.full(dim, -0.5)
  x, y = a + rng.normal(size=(20_000, dim)), b + rng.normal(size=(20_000, dim))
  expected = _expected_kernel(a, a) + _expected_kernel(b, b) - 2 * _expected_kernel(a, b)
  mean, std = feature_metrics.kid(x, y, num_subsets=20, subset_size=500)
  np.testing.assert_allclose(mean, expected, rtol=0.03)  # 0.03 * 14.8 = 2.4 std / sqrt(20).
  assert std > 0


def test_kid_is_unbiased_for_one_distribution():
  rng = np.random.default_rng(5)
  x, y = rng.normal(size=(10_000, 16)), rng.normal(size=(10_000, 16))
  mean, std = feature_metrics.kid(x, y, num_subsets=100, subset_size=200)
  # Keeping the diagonal terms would bias it by about 2 E k(x, x) / m = 2 * 8.8 / 200 = 0.09.
  assert abs(mean) < 3 * std / np.sqrt(100)
  assert abs(mean) < 0.01


# --- score and class KL ------------------------------------------------------------------------

def _confident_logits(labels):
  return 30.0 * np.eye(10)[labels]


def test_mnist_score_of_one_class_is_one():
  assert feature_metrics.mnist_score(_confident_logits(np.full(500, 3))) == pytest.approx(1.0, abs=1e-6)


def test_mnist_score_of_balanced_confident_set_is_ten():
  assert feature_metrics.mnist_score(_confident_logits(np.arange(1000) % 10)) == pytest.approx(
      10.0, rel=1e-6)


def test_class_kl():
  assert feature_metrics.class_kl(_confident_logits(np.arange(1000) % 10)) == pytest.approx(0.0, abs=1e-12)
  assert feature_metrics.class_kl(_confident_logits(np.full(100, 7))) == pytest.approx(np.log(10))
  hist = np.array([0.5, 0.5] + [0.0] * 8)
  two_classes = _confident_logits(np.arange(100) % 2)
  assert feature_metrics.class_kl(two_classes) == pytest.approx(np.sum(hist[:2] * np.log(hist[:2] * 10)))


# --- precision and recall ----------------------------------------------------------------------

def _precision_recall_reference(real, fake, k):
  d_rr = np.linalg.norm(real[:, None] - real[None], axis=-1)
  d_ff = np.linalg.norm(fake[:, None] - fake[None], axis=-1)
  d_fr = np.linalg.norm(fake[:, None] - real[None], axis=-1)
  r_real, r_fake = np.sort(d_rr, axis=1)[:, k], np.sort(d_ff, axis=1)[:, k]
  return np.mean(np.any(d_fr <= r_real[None], axis=1)), np.mean(np.any(d_fr <= r_fake[:, None], axis=0))


def test_precision_recall_of_identical_sets_is_one():
  feats = np.random.default_rng(6).normal(size=(3000, 16))
  assert feature_metrics.precision_recall(feats, feats, k=3, block=700) == (1.0, 1.0)


def test_precision_recall_matches_brute_force():
  rng = np.random.default_rng(7)
  real, fake = rng.normal(size=(300, 8)), rng.normal(0.4, 0.7, size=(250, 8))
  precision, recall = feature_metrics.precision_recall(real, fake, k=3, block=64)
  expected = _precision_recall_reference(real, fake, 3)
  assert (precision, recall) == pytest.approx(expected, abs=1e-12)
  radii = feature_metrics.knn_sq_radii(real, 3, block=100)
  assert feature_metrics.precision_recall(real, fake, real_sq_radii_N=radii) == (precision, recall)
  assert 0.0 < precision < 1.0 and 0.0 < recall < 1.0


def test_a_point_on_a_ball_s_boundary_is_inside_it():
  # k = 1: every real ball has squared radius 1, and each fake lies exactly 1 from a real point.
  real, fake = np.array([[0.0], [1.0], [10.0], [11.0]]), np.array([[2.0], [12.0]])
  assert feature_metrics.precision_recall(real, fake, k=1) == (1.0, 1.0)
  # The sets swapped: each real lies on the boundary of a fake ball.
  assert feature_metrics.precision_recall(fake, real, k=1) == (1.0, 1.0)


def test_metric_defaults_are_the_documented_ones():
  rng = np.random.default_rng(3)
  real, fake = rng.normal(size=(60, 4)), rng.normal(0.3, 1.0, size=(50, 4))
  assert feature_metrics.precision_recall(real, fake) == feature_metrics.precision_recall(
      real, fake, k=3)
  assert feature_metrics.precision_recall(real, fake) != feature_metrics.precision_recall(
      real, fake, k=2)
  np.testing.assert_array_equal(feature_metrics.knn_sq_radii(real),
                                feature_metrics.knn_sq_radii(real, k=3))
  assert feature_metrics.kid(real, fake, 4) == feature_metrics.kid(real, fake, 4, 1000, seed=0)
  assert feature_metrics.kid(real, fake) == feature_metrics.kid(real, fake, 100, 1000, 0)
  big_a, big_b = rng.normal(size=(1001, 2)), rng.normal(size=(1001, 2))  # Subsets of 1000 of 1001.
  assert feature_metrics.kid(big_a, big_b, 2) == feature_metrics.kid(big_a, big_b, 2, 1000, 0)
  assert feature_metrics.kid(real, fake, 4) != feature_metrics.kid(real, fake, 4, 1000, seed=1)


@pytest.mark.parametrize("n, m", [(50, 20), (20, 50)])
def test_kid_subsets_take_the_smaller_set_s_size(n, m):
  rng = np.random.default_rng(4)
  a, b = rng.normal(size=(n, 3)), rng.normal(0.5, 1.0, size=(m, 3))
  mean, std = feature_metrics.kid(a, b, num_subsets=1, subset_size=1000, seed=7)
  draw = np.random.default_rng(7)
  x, y = a[draw.choice(n, 20, replace=False)], b[draw.choice(m, 20, replace=False)]
  kernel = lambda u, v: (u @ v.T / 3 + 1.0) ** 3
  k_xx, k_yy = kernel(x, x), kernel(y, y)
  want = ((k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (20 * 19)
          - 2.0 * kernel(x, y).mean())
  assert mean == pytest.approx(want, rel=1e-12) and std == 0.0


def test_precision_recall_of_disjoint_sets_is_zero():
  rng = np.random.default_rng(8)
  real, fake = rng.normal(size=(500, 8)), rng.normal(size=(400, 8)) + 100.0
  assert feature_metrics.precision_recall(real, fake) == (0.0, 0.0)


# --- the evaluator network ---------------------------------------------------------------------

def test_features_and_logits_accepts_uint8_and_unit_floats_in_batches():
  evaluator = classifier.init_evaluator(jax.random.PRNGKey(0))
  images = np.random.default_rng(9).integers(0, 256, size=(25, 28, 28, 1), dtype=np.uint8)
  feats, logits = classifier.features_and_logits(evaluator, images, batch_size=10)
  assert feats.shape == (25, classifier.FEATURE_DIM) and logits.shape == (25, 10)
  feats_f, logits_f = classifier.features_and_logits(evaluator, images / np.float32(255),
                                                     batch_size=32)
  np.testing.assert_allclose(feats_f, feats, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(logits_f, logits, rtol=1e-5, atol=1e-5)


def test_save_and_load_round_trip_and_sha256_check(tmp_path):
  evaluator = classifier.init_evaluator(jax.random.PRNGKey(1))
  record = classifier.save_evaluator(evaluator, str(tmp_path), dict(test_accuracy=0.5))
  loaded = classifier.load_evaluator(str(tmp_path))
  equal = jax.tree.map(np.array_equal, evaluator.params, loaded.params)
  assert all(jax.tree.leaves(equal))
  assert json.loads((tmp_path / classifier.INFO_FILE).read_text())["sha256"] == record["sha256"]
  weights = tmp_path / classifier.WEIGHTS_FILE
  raw = bytearray(weights.read_bytes())
  raw[-1] ^= 1
  weights.write_bytes(bytes(raw))
  with pytest.raises(JaxganError, match="sha256"):
    classifier.load_evaluator(str(tmp_path))


def test_load_evaluator_missing_files_is_a_clear_error(tmp_path):
  with pytest.raises(JaxganError, match="train_evaluator"):
    classifier.load_evaluator(str(tmp_path))


def test_shipped_weights_load():
  evaluator = classifier.load_evaluator()
  assert set(evaluator.params) == {"conv1", "conv2", "fc", "out"}


# --- real data ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped_evaluator():
  return classifier.load_evaluator()


@pytest.mark.slow
def test_shipped_weights_reach_their_accuracy(mnist_idx_dir, shipped_evaluator):
  with open(os.path.join(classifier.WEIGHTS_DIR, classifier.INFO_FILE)) as f:
    info = json.load(f)
  assert info["sha256"] == classifier.sha256_of(
      os.path.join(classifier.WEIGHTS_DIR, classifier.WEIGHTS_FILE))
  images, labels = idx.read_idx_split(mnist_idx_dir, "test")
  _, logits = classifier.features_and_logits(shipped_evaluator, images)
  accuracy = np.mean(np.argmax(logits, axis=1) == labels)
  assert accuracy >= 0.992
  assert accuracy == pytest.approx(info["test_accuracy"], abs=2e-4)


def _box_blur(images_NxHxWx1):
  x = np.pad(images_NxHxWx1.astype(np.float32), ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
  out = sum(x[:, i:i + 28, j:j + 28] for i in range(3) for j in range(3)) / 9.0
  return np.round(out).astype(np.uint8)


@pytest.mark.slow
def test_degraded_sets_score_worse_than_real(mnist_idx_dir, shipped_evaluator):
  data_config = mlp_gan.get_config().data
  data_config.source, data_config.idx_dir = "idx", mnist_idx_dir
  reference = run_eval.load_reference(shipped_evaluator, data_config)
  train_images, train_labels = idx.read_idx_split(mnist_idx_dir, "train")
  heldout, heldout_labels = train_images[-10_000:], train_labels[-10_000:]
  real = classifier.evaluate_images(shipped_evaluator, heldout[:2000], reference, kid_subsets=5)
  assert real["fcd_ratio"] == pytest.approx(1.0) and real["recall_ratio"] == pytest.approx(1.0)
  assert 1 < real["fcd"] < 10 and real["mnist_score"] > 9.5 and real["precision"] > 0.7
  num = 5000
  real_features, _ = classifier.features_and_logits(shipped_evaluator, heldout[:num])
  real_fcd = feature_metrics.fcd(real_features, reference.test_features)
  degraded = {
      "dropped class": heldout[heldout_labels != 0][:num],
      "blur": _box_blur(heldout[:num]),
      "repeats": np.tile(heldout[:num // 50], (50, 1, 1, 1)),
  }
  for name, images in degraded.items():
    feats, _ = classifier.features_and_logits(shipped_evaluator, images)
    assert feature_metrics.fcd(feats, reference.test_features) > 2 * real_fcd, name


def test_random_shift_translates_each_image():
  from jaxgan.cli import train_evaluator
  images = np.zeros((16, 28, 28, 1), np.uint8)
  images[:, 14, 14, 0] = 255
  shifted = np.asarray(train_evaluator.random_shift(jax.random.PRNGKey(0), images, 2))
  assert np.array_equal(train_evaluator.random_shift(jax.random.PRNGKey(0), images, 0), images)
  rows, cols = np.nonzero(shifted[..., 0].reshape(16, -1) == 255)
  assert np.array_equal(rows, np.arange(16))
  dy, dx = cols // 28 - 14, cols % 28 - 14
  assert np.all(np.abs(dy) <= 2) and np.all(np.abs(dx) <= 2) and len(set(zip(dy, dx))) > 1


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist"])
def test_train_evaluator_writes_the_datasets_own_evaluator(tmp_path, dataset):
  """One short epoch on tiny IDX files: the weights and their record under the dataset's file names,
  loadable by name; evaluations of that dataset read them."""
  idx_dir = write_tiny_idx_dir(tmp_path / "idx", 256)
  result = processes.run(
      [sys.executable, "-m", "experiments.train_evaluator", f"--dataset={dataset}",
       f"--idx_dir={idx_dir}", "--epochs=1", f"--output={tmp_path / 'weights'}"],
      cwd=REPO_ROOT, capture_output=True, text=True, check=False)
  assert result.returncode == 0, result.stderr
  weights_file, info_file = classifier.evaluator_files(dataset)
  assert weights_file == ("evaluator.msgpack" if dataset == "mnist"
                          else "evaluator_fashion_mnist.msgpack")
  record = json.loads((tmp_path / "weights" / info_file).read_text())
  assert record["dataset"] == dataset and record["command"].startswith(
      f"python -m experiments.train_evaluator --dataset={dataset} ")
  assert classifier.has_evaluator(dataset, str(tmp_path / "weights"))
  classifier.load_evaluator(str(tmp_path / "weights"), dataset=dataset)
  with pytest.raises(JaxganError, match=f"train_evaluator --dataset={dataset}"):
    classifier.load_evaluator(str(tmp_path / "idx"), dataset=dataset)


def test_train_evaluator_refuses_a_dataset_of_one_class(tmp_path):
  idx_dir = write_tiny_idx_dir(tmp_path, 64)
  for split in ("train", "t10k"):
    write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.zeros(64, np.uint8))
  result = processes.run(
      [sys.executable, "-m", "experiments.train_evaluator", f"--idx_dir={idx_dir}", "--epochs=1",
       f"--output={tmp_path / 'weights'}"], cwd=REPO_ROOT, capture_output=True, text=True)
  assert result.returncode == 2 and result.stderr.strip().splitlines() == [
      "error: mnist has a single class: an evaluator classifies labelled images (an image folder "
      "labels them by class subfolders)"]
  assert not (tmp_path / "weights").exists()


@pytest.mark.parametrize("image_shape, num_classes", [((28, 28, 1), 10), ((32, 32, 3), 4),
                                                      ((64, 48, 3), 12)])
def test_the_evaluator_takes_any_image_shape_and_number_of_classes(image_shape, num_classes):
  evaluator = classifier.init_evaluator(jax.random.PRNGKey(0), image_shape, num_classes)
  features, logits = classifier.features_and_logits(
      evaluator, np.zeros((3, *image_shape), np.uint8), batch_size=4)
  assert features.shape == (3, classifier.FEATURE_DIM) and logits.shape == (3, num_classes)


@pytest.mark.slow
def test_the_shipped_fashion_mnist_evaluator_reaches_its_accuracy():
  fashion_dir = os.environ.get("JAXGAN_FASHION_MNIST_IDX_DIR", "/usr/share/datasets/fashion-mnist")
  if not os.path.isfile(os.path.join(fashion_dir, "t10k-images-idx3-ubyte.gz")):
    skip_or_fail(f"no Fashion-MNIST IDX files in {fashion_dir}")
  info = json.loads((pathlib.Path(classifier.WEIGHTS_DIR) /
                     classifier.evaluator_files("fashion_mnist")[1]).read_text())
  images, labels = idx.read_idx_split(fashion_dir, "test")
  _, logits = classifier.features_and_logits(
      classifier.load_evaluator(dataset="fashion_mnist"), images)
  accuracy = np.mean(np.argmax(logits, axis=1) == labels)
  assert accuracy >= 0.9 and accuracy == pytest.approx(info["test_accuracy"], abs=2e-4)
