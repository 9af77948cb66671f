"""Sampling's inputs and chunking: labels in turn or by the cluster prior, latent walks, labels
asked for, and images that do not depend on the chunk size."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.config.presets import smoke
from jaxgan.core import gan, sampling
from jaxgan.errors import ConfigError

NUM_CLASSES = 5


@pytest.fixture(scope="module")
def conditional():
  """(state, spec) of a small class-conditional MLP GAN (BatchNorm in G)."""
  config = smoke.get_config()
  config.model.conditional = True
  return gan.init_state(config, (28, 28, 1), NUM_CLASSES)


def test_grid_columns_are_one_per_class_else_eight(conditional):
  _, spec = conditional
  assert sampling.grid_columns(spec) == NUM_CLASSES
  assert sampling.grid_columns(dataclasses.replace(spec, num_classes=0)) == 8
  clustered = dataclasses.replace(spec, label_prior=(0.2,) * NUM_CLASSES)
  assert sampling.grid_columns(clustered) == 8  # Clusters are not classes a column could show.


def test_cycling_labels_take_the_classes_in_turn():
  np.testing.assert_array_equal(sampling.cycling_labels(3, 7), [0, 1, 2, 0, 1, 2, 0])
  assert sampling.cycling_labels(3, 7).dtype == jnp.int32
  assert sampling.cycling_labels(0, 7) is None


def test_sampling_labels_follow_the_cluster_prior_in_every_prefix(conditional):
  _, spec = conditional
  np.testing.assert_array_equal(sampling.sampling_labels(spec, 6), [0, 1, 2, 3, 4, 0])
  prior = (0.5, 0.25, 0.125, 0.125, 0.0)
  labels_N = np.asarray(sampling.sampling_labels(dataclasses.replace(spec, label_prior=prior), 400))
  assert labels_N.dtype == np.int32 and set(labels_N.tolist()) == {0, 1, 2, 3}
  for n in (8, 40, 400):  # Each prefix holds each cluster within a few samples of its share.
    counts = np.bincount(labels_N[:n], minlength=NUM_CLASSES)
    assert np.all(np.abs(counts - n * np.array(prior)) <= 3.0), (n, counts)
  empty_first = dataclasses.replace(spec, label_prior=(0.0, 0.5, 0.25, 0.25, 0.0))
  assert 0 not in np.asarray(sampling.sampling_labels(empty_first, 64)).tolist()  # Never sampled.
  uniform_N = np.asarray(sampling.sampling_labels(dataclasses.replace(spec, label_prior=(0.2,) * 5),
                                                  50))
  assert uniform_N.max() == NUM_CLASSES - 1  # The last cluster is drawn too.
  rounded_down = dataclasses.replace(spec, label_prior=(0.2, 0.2, 0.2, 0.2, 0.199))
  assert np.asarray(sampling.sampling_labels(rounded_down, 4000)).max() == NUM_CLASSES - 1


def test_slerp_is_exact_at_the_ends_and_keeps_the_radius():
  z0, z1 = jnp.array([3.0, 0.0, 0.0]), jnp.array([0.0, 3.0, 0.0])
  t_T = jnp.array([0.0, 0.25, 0.5, 1.0])
  z_TxZ = np.asarray(sampling.slerp(z0, z1, t_T))
  np.testing.assert_array_equal(z_TxZ[0], z0)
  np.testing.assert_array_equal(z_TxZ[-1], z1)
  np.testing.assert_allclose(np.linalg.norm(z_TxZ, axis=1), 3.0, rtol=1e-6)
  np.testing.assert_allclose(z_TxZ[1], [3 * np.cos(np.pi / 8), 3 * np.sin(np.pi / 8), 0.0], rtol=1e-6)
  np.testing.assert_allclose(z_TxZ[2], [3 / np.sqrt(2), 3 / np.sqrt(2), 0.0], rtol=1e-6)
  # Endpoints of different norms: the norm moves between them; parallel ones: the straight line.
  unequal = np.asarray(sampling.slerp(z0, 2.0 * z1 / 3.0, jnp.array([0.5])))
  assert 2.0 < np.linalg.norm(unequal) < 3.0
  parallel = np.asarray(sampling.slerp(z0, 2.0 * z0, jnp.array([0.25, 0.5])))
  np.testing.assert_allclose(parallel, [[3.75, 0, 0], [4.5, 0, 0]], rtol=1e-6)


def _slerp_float64(z0_Z, z1_Z, t):
  """The textbook formula, in float64."""
  omega = np.arccos(np.dot(z0_Z, z1_Z) / (np.linalg.norm(z0_Z) * np.linalg.norm(z1_Z)))
  return (np.sin((1 - t) * omega) * z0_Z + np.sin(t * omega) * z1_Z) / np.sin(omega)


def test_slerp_matches_the_formula_and_stays_finite_at_rounded_extremes():
  rng = np.random.default_rng(0)
  z0, z1 = rng.normal(size=16), 0.5 * rng.normal(size=16)  # Neither orthogonal nor of one norm.
  got = np.asarray(sampling.slerp(z0, z1, jnp.array([0.3, 0.7])))
  np.testing.assert_allclose(got, [_slerp_float64(z0, z1, t) for t in (0.3, 0.7)], rtol=1e-4,
                             atol=1e-5)
  for _ in range(20):  # Parallel and opposite directions: |cos| rounds to at most 1, never NaN.
    z = rng.normal(size=16).astype(np.float32)
    for other in (z * np.float32(1.7), z * np.float32(-1.3)):
      assert np.isfinite(np.asarray(sampling.slerp(z, other, jnp.array([0.5])))).all()


def test_check_label_accepts_the_classes_only(conditional):
  _, spec = conditional
  for label in (None, 0, NUM_CLASSES - 1):
    sampling.check_label(spec, label)
  for label in (-1, NUM_CLASSES):
    with pytest.raises(ConfigError, match=rf"^--label: got {label}, expected a class in \[0, 4\]$"):
      sampling.check_label(spec, label)
  clustered = dataclasses.replace(spec, label_prior=(0.2,) * NUM_CLASSES)
  with pytest.raises(ConfigError, match=r"expected a self-conditioning cluster in \[0, 4\]"):
    sampling.check_label(clustered, NUM_CLASSES)
  with pytest.raises(ConfigError) as unconditional:
    sampling.check_label(dataclasses.replace(spec, num_classes=0), 2)
  assert str(unconditional.value) == (
      "--label=2: the run's generator is not class-conditional (train it with "
      "--config=experiments/configs/cgan.py or --config.model.conditional=true)")
  sampling.check_label(dataclasses.replace(spec, num_classes=0), None)


def test_class_inputs_ask_every_sample_for_the_label(conditional):
  _, spec = conditional
  key = jax.random.PRNGKey(4)
  z_NxZ, labels_N = sampling.class_inputs(spec, key, 6, 3)
  np.testing.assert_array_equal(z_NxZ, gan.sample_noise(spec, key, 6))
  np.testing.assert_array_equal(labels_N, np.full(6, 3))
  assert labels_N.dtype == jnp.int32
  with pytest.raises(ConfigError, match="--label: got 5"):
    sampling.class_inputs(spec, key, 6, 5)


def test_walk_inputs_run_between_two_latents_in_one_class(conditional):
  _, spec = conditional
  key = jax.random.PRNGKey(9)
  ends_2xZ = gan.sample_noise(spec, key, 2)
  z_TxZ, labels_T = sampling.walk_inputs(spec, key, 5, label=2)
  assert z_TxZ.shape == (5, spec.latent_dim)
  np.testing.assert_array_equal(z_TxZ[0], ends_2xZ[0])
  np.testing.assert_array_equal(z_TxZ[-1], ends_2xZ[1])
  np.testing.assert_allclose(z_TxZ[2], sampling.slerp(ends_2xZ[0], ends_2xZ[1], jnp.array([0.5]))[0],
                             rtol=1e-6)
  np.testing.assert_array_equal(labels_T, np.full(5, 2))
  _, drawn_T = sampling.walk_inputs(spec, key, 3)
  drawn = jax.random.randint(jax.random.fold_in(key, 1), (), 0, NUM_CLASSES)
  np.testing.assert_array_equal(drawn_T, np.full(3, drawn))
  assert sampling.walk_inputs(dataclasses.replace(spec, num_classes=0), key, 3)[1] is None
  with pytest.raises(ConfigError, match="needs at least 2 frames, got 1"):
    sampling.walk_inputs(spec, key, 1)
  two_2xZ, _ = sampling.walk_inputs(spec, key, 2)
  np.testing.assert_array_equal(two_2xZ, ends_2xZ)
  with pytest.raises(ConfigError, match="--label: got 7"):
    sampling.walk_inputs(spec, key, 3, label=7)


@pytest.mark.parametrize("mode", sampling.SAMPLING_MODES)
def test_images_do_not_depend_on_the_chunk_size(conditional, mode):
  state, spec = conditional
  key = jax.random.PRNGKey(1)
  whole = sampling.sample_images(spec, state, key, 7, mode=mode, seed=3)
  assert whole.shape == (7, 28, 28, 1) and whole.dtype == np.uint8
  if mode == "batch":  # Each chunk is normalised by its own statistics: chunks change the images.
    assert not np.array_equal(sampling.sample_images(spec, state, key, 7, mode=mode, seed=3,
                                                     chunk=3), whole)
    return
  np.testing.assert_array_equal(
      sampling.sample_images(spec, state, key, 7, mode=mode, seed=3, chunk=3), whole)
  z_NxZ, labels_N = sampling.fixed_inputs(spec, key, 7)
  relabelled = sampling.generate(spec, state, z_NxZ, (labels_N + 1) % NUM_CLASSES, mode=mode,
                                 seed=3, chunk=3)
  assert not np.array_equal(relabelled, whole)  # The labels reach every chunk.
  sampler = sampling.Sampler(spec, mode, seed=3)
  np.testing.assert_array_equal(sampler(state, key, 7), whole)
  with pytest.raises(ConfigError) as unknown:
    sampling.generate(spec, state, z_NxZ, labels_N, mode="eval")
  assert str(unknown.value) == "sampling mode: got 'eval', expected one of running, standing, batch"


def test_more_samples_than_latent_dimensions_in_chunks_and_the_default_seed(conditional):
  state, spec = conditional
  key, num = jax.random.PRNGKey(2), spec.latent_dim + 5
  images = sampling.sample_images(spec, state, key, num, mode="standing", chunk=8)
  assert images.shape == (num, 28, 28, 1)
  np.testing.assert_array_equal(
      images, sampling.sample_images(spec, state, key, num, mode="standing", seed=0))
  np.testing.assert_array_equal(
      images, sampling.generate(spec, state, *sampling.fixed_inputs(spec, key, num), mode="standing"))


def test_standing_statistics_are_the_mean_of_their_chunks(conditional):
  state, spec = conditional
  key = jax.random.PRNGKey(6)
  g_params, g_batch_stats = state.sampling_params(), state.g_batch_stats
  standing = sampling.standing_stats(spec, g_params, g_batch_stats, key, num_chunks=2, chunk=32)
  chunks = [sampling._batch_stats_of_chunk(  # pylint: disable=protected-access
      spec, g_params, g_batch_stats, jax.random.fold_in(key, i), chunk=32) for i in range(2)]
  jax.tree.map(lambda got, a, b: np.testing.assert_allclose(got, (a + b) / 2, rtol=1e-6),
               standing, *chunks)
