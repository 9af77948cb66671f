"""Self-conditioning: k-means clusters of the images as the labels of a conditional GAN; and k-means
sub-clusters inside each class as the labels of a class-conditional one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.config import validation
from jaxgan.config.presets import smoke
from jaxgan.core import gan, sampling
from jaxgan.data import clusters
from jaxgan.errors import ConfigError
from jaxgan.run import restore
from jaxgan.training import loop

# Training runs and command-line subprocesses: in CI, not in the edit loop (-m "not slow").
pytestmark = pytest.mark.slow


def _blobs(num_per_blob: int = 50):
  """uint8 images_Nx4x4x1 of three well-separated constant images plus noise, and their blob ids."""
  rng = np.random.default_rng(0)
  levels = np.array([20, 120, 230])
  ids_N = np.repeat(np.arange(3), num_per_blob)
  images = levels[ids_N][:, None, None, None] + rng.integers(-10, 11, (len(ids_N), 4, 4, 1))
  return images.astype(np.uint8), ids_N


def test_kmeans_recovers_separated_blobs_and_reports_their_sizes():
  images, ids_N = _blobs()
  labels_N, prior = clusters.cluster_labels(images[:130], 3, seed=0)
  # The same partition as the blob ids, whatever the cluster numbering.
  pairs = set(zip(ids_N[:130].tolist(), labels_N.tolist()))
  assert len(pairs) == 3 and len({c for _, c in pairs}) == 3
  np.testing.assert_allclose(sorted(prior), sorted([50 / 130, 50 / 130, 30 / 130]))
  again, _ = clusters.cluster_labels(images[:130], 3, seed=0)
  np.testing.assert_array_equal(labels_N, again)


def test_kmeans_moves_its_centroids_to_the_cluster_means():
  # One far point and two close groups: two iterations must split the close groups apart even when
  # both initial centroids start in the same group.
  x_NxD = jnp.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
  for seed in range(5):
    centroids_KxD = np.asarray(clusters.kmeans(x_NxD, 2, jax.random.PRNGKey(seed)))
    assign_N = np.argmin(np.abs(np.asarray(x_NxD) - centroids_KxD.T), axis=1)
    assert len(set(np.asarray(assign_N[:3]).tolist())) == 1
    assert assign_N[0] != assign_N[3]


def test_cluster_count_out_of_range_is_a_config_error():
  images, _ = _blobs(2)
  with pytest.raises(ConfigError, match="config.model.clusters: got 7"):
    clusters.cluster_labels(images, 7, seed=0)


@pytest.mark.parametrize("overrides, message", [
    (dict(clusters=1), "got 1, expected 0"),
])
def test_clusters_config_rules(overrides, message):
  config = smoke.get_config()
  config.model.update(overrides)
  with pytest.raises(ConfigError, match=message):
    validation.validate(config)


def test_sampling_labels_follow_the_cluster_sizes_in_any_prefix():
  config = smoke.get_config()
  prior = (0.5, 0.3, 0.15, 0.05)
  _, spec = gan.init_state_compiled(config, (28, 28, 1), 4, abstract=True, label_prior=prior)
  assert not spec.class_conditional
  for num in (100, 1000):
    counts = np.bincount(np.asarray(sampling.sampling_labels(spec, num)), minlength=4)
    np.testing.assert_allclose(counts / num, prior, atol=2.0 / num + 0.005)
  _, classes = gan.init_state_compiled(config, (28, 28, 1), 4, abstract=True)
  assert classes.class_conditional
  np.testing.assert_array_equal(sampling.sampling_labels(classes, 6), [0, 1, 2, 3, 0, 1])


def test_sub_clusters_split_each_class_and_never_cross_it():
  images, blob_N = _blobs()
  class_N = (blob_N > 0).astype(np.int32)  # Class 0: blob 0; class 1: blobs 1 and 2.
  labels_N, prior = clusters.class_subcluster_labels(images, class_N, 2, 2, seed=0)
  assert np.array_equal(labels_N // 2, class_N)  # A label never leaves its class.
  in_class_1 = class_N == 1
  assert len(set(zip(labels_N[in_class_1], blob_N[in_class_1]))) == 2  # Its two blobs, split.
  np.testing.assert_allclose(prior, np.bincount(labels_N, minlength=4) / len(labels_N))
  assert len(prior) == 4 and np.sum(prior[2:]) == pytest.approx(2 / 3)


def test_a_class_with_fewer_images_than_sub_clusters_is_one_line_naming_it():
  images, blob_N = _blobs(3)
  with pytest.raises(ConfigError, match="expected an integer in .2, 3. .the number of training "
                     "images of class 1."):
    clusters.class_subcluster_labels(images, (blob_N == 1).astype(np.int32), 2, 4, seed=0)


def _sub_clustered_spec(prior):
  config = smoke.get_config()
  config.model.update(conditional=True, clusters=2)
  validation.validate(config)  # Labels and sub-clusters together are a valid config.
  _, spec = gan.init_state_compiled(config, (28, 28, 1), len(prior), abstract=True,
                                    label_prior=tuple(prior))
  return spec


def test_samples_of_a_class_draw_its_sub_clusters_by_their_sizes():
  prior = (0.3, 0.1, 0.05, 0.15, 0.2, 0.2)  # 3 classes x 2 sub-clusters.
  spec = _sub_clustered_spec(prior)
  assert spec.class_conditional and spec.label_classes == 3 and sampling.grid_columns(spec) == 3
  labels_N = np.asarray(sampling.class_inputs(spec, jax.random.PRNGKey(0), 1000, 1)[1])
  assert set(labels_N) == {2, 3}  # Class 1's sub-clusters only ...
  assert np.mean(labels_N == 2) == pytest.approx(0.25, abs=0.01)  # ... as 0.05 : 0.15.
  cycled = np.asarray(sampling.sampling_labels(spec, 300))
  assert np.array_equal(cycled // 2, np.arange(300) % 3)  # Grids and evaluation: classes in turn.
  assert np.mean(cycled[cycled // 2 == 0] == 0) == pytest.approx(0.75, abs=0.02)
  _, walk_labels = sampling.walk_inputs(spec, jax.random.PRNGKey(0), 4, label=2)
  assert len(set(np.asarray(walk_labels))) == 1 and int(walk_labels[0]) // 2 == 2
  with pytest.raises(ConfigError, match=r"--label: got 3, expected a class in \[0, 2\]"):
    sampling.class_inputs(spec, jax.random.PRNGKey(0), 4, 3)


@pytest.fixture(scope="module")
def self_conditioned_run(tiny_idx_dir, tmp_path_factory):  # noqa: F811
  workdir = str(tmp_path_factory.mktemp("selfcond"))
  config = smoke.get_config()
  config.update(dict(num_steps=2, eval_final_num=0))
  config.data.update(dict(source="idx", idx_dir=tiny_idx_dir))
  config.model.clusters = 5
  loop.train_and_evaluate(config, workdir)
  return workdir


def test_a_self_conditioned_run_restores_with_its_cluster_sizes(self_conditioned_run):
  _, state, spec = restore.restore_run(self_conditioned_run)
  assert spec.num_classes == 5 and len(spec.label_prior) == 5
  assert abs(sum(spec.label_prior) - 1.0) < 1e-6
  # The cluster id reaches both networks: G draws other images and D scores them differently.
  z_2xZ = jnp.repeat(gan.sample_noise(spec, jax.random.PRNGKey(0), 1), 2, axis=0)
  labels_2 = jnp.array([0, 3], jnp.int32)
  images, _ = spec.generate(state.g_params, state.g_batch_stats, z_2xZ, labels_2)
  assert not np.allclose(images[0], images[1])
  logits_2 = spec.discriminate(state.d_params, jnp.repeat(images[:1], 2, axis=0), labels_2,
                               state.d_sn_vectors)
  assert not np.isclose(logits_2[0], logits_2[1])


def test_a_sub_clustered_run_restores_with_its_classes_and_sub_clusters(tiny_idx_dir, tmp_path):  # noqa: F811
  config = smoke.get_config()
  config.update(dict(num_steps=2, eval_final_num=0))
  config.data.update(dict(source="idx", idx_dir=tiny_idx_dir))
  config.model.update(conditional=True, clusters=2)
  loop.train_and_evaluate(config, str(tmp_path))
  _, _, spec = restore.restore_run(str(tmp_path))
  assert (spec.num_classes, spec.subclusters, spec.label_classes) == (20, 2, 10)
  assert len(spec.label_prior) == 20 and abs(sum(spec.label_prior) - 1.0) < 1e-6
