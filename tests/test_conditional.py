"""Class-conditional sampling, latent walks and their generate command options."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jaxgan.config.presets import cgan, smoke
from jaxgan.core import gan, sampling
from jaxgan.errors import ConfigError
from jaxgan.evaluation import classifier, run_eval
from jaxgan.run import restore
from jaxgan.training import loop
from tests import processes
from tests.conftest import REPO_ROOT

# Training runs and command-line subprocesses: in CI, not in the edit loop (-m "not slow").
pytestmark = pytest.mark.slow

CGAN_TEST_STEPS = 700


def _conditional_smoke_config(idx_dir, **overrides):
  config = smoke.get_config()
  config.model.conditional = True
  config.data.source = "idx"
  config.data.idx_dir = idx_dir
  config.update(overrides)
  return config


@pytest.fixture(scope="module")
def conditional_run(tiny_idx_dir, tmp_path_factory):  # noqa: F811
  """The workdir of a 4-step conditional smoke run on random images."""
  workdir = str(tmp_path_factory.mktemp("cgan"))
  loop.train_and_evaluate(_conditional_smoke_config(tiny_idx_dir, num_steps=4), workdir)
  return workdir


@pytest.fixture(scope="module")
def unconditional_run(tiny_idx_dir, tmp_path_factory):  # noqa: F811
  workdir = str(tmp_path_factory.mktemp("gan"))
  config = _conditional_smoke_config(tiny_idx_dir, num_steps=2)
  config.model.conditional = False
  loop.train_and_evaluate(config, workdir)
  return workdir


def test_slerp_ends_exactly_at_both_latents_and_keeps_the_radius():
  z0, z1 = jax.random.normal(jax.random.PRNGKey(0), (2, 16))
  z1 = z1 * jnp.linalg.norm(z0) / jnp.linalg.norm(z1)
  z_TxZ = sampling.slerp(z0, z1, jnp.linspace(0.0, 1.0, 9))
  np.testing.assert_array_equal(z_TxZ[0], z0)
  np.testing.assert_array_equal(z_TxZ[-1], z1)
  np.testing.assert_allclose(jnp.linalg.norm(z_TxZ, axis=1), jnp.linalg.norm(z0), rtol=1e-5)
  # Unlike the straight line, the midpoint does not shrink towards the origin.
  assert jnp.linalg.norm((z0 + z1) / 2) < 0.9 * jnp.linalg.norm(z_TxZ[4])


def test_slerp_of_parallel_latents_is_the_straight_line():
  z0 = jnp.arange(1.0, 5.0)
  z_TxZ = sampling.slerp(z0, 3.0 * z0, jnp.array([0.0, 0.5, 1.0]))
  assert bool(jnp.all(jnp.isfinite(z_TxZ)))
  np.testing.assert_allclose(z_TxZ, jnp.stack([z0, 2.0 * z0, 3.0 * z0]), rtol=1e-6)


def test_walk_endpoints_are_the_two_generated_images(conditional_run):
  config, state, spec = restore.restore_run(conditional_run)
  key = jax.random.PRNGKey(5)
  z_TxZ, labels_T = sampling.walk_inputs(spec, key, 7, label=3)
  assert z_TxZ.shape == (7, spec.latent_dim)
  np.testing.assert_array_equal(labels_T, np.full(7, 3))
  walk = sampling.generate(spec, state, z_TxZ, labels_T, mode="running")
  ends = sampling.generate(spec, state, gan.sample_noise(spec, key, 2), labels_T[:2], mode="running")
  np.testing.assert_array_equal(walk[0], ends[0])
  np.testing.assert_array_equal(walk[-1], ends[1])
  assert not np.array_equal(walk[0], walk[-1])


def test_class_inputs_and_labels_out_of_range(conditional_run, unconditional_run):
  config, state, spec = restore.restore_run(conditional_run)
  z_NxZ, labels_N = sampling.class_inputs(spec, jax.random.PRNGKey(0), 5, 9)
  assert z_NxZ.shape == (5, spec.latent_dim)
  np.testing.assert_array_equal(labels_N, np.full(5, 9))
  # The label reaches the generator: same noise, another class, other images.
  images_9 = sampling.generate(spec, state, z_NxZ, labels_N, mode="running")
  images_2 = sampling.generate(spec, state, z_NxZ, jnp.full((5,), 2, jnp.int32), mode="running")
  assert not np.array_equal(images_9, images_2)
  with pytest.raises(ConfigError, match=r"--label: got 10, expected a class in \[0, 9\]"):
    sampling.class_inputs(spec, jax.random.PRNGKey(0), 5, 10)
  _, _, plain_spec = restore.restore_run(unconditional_run)
  with pytest.raises(ConfigError, match="not class-conditional"):
    sampling.class_inputs(plain_spec, jax.random.PRNGKey(0), 5, 1)


def _generate(*args):
  return processes.start([sys.executable, "-m", "experiments.generate", *args], cwd=REPO_ROOT,
                         stdout=processes.PIPE, stderr=processes.PIPE, text=True)


def test_generate_label_and_interpolate_commands(conditional_run, unconditional_run, tmp_path):
  failures = {  # Started together: each command spends most of its time starting up.
      "not class-conditional": _generate(f"--workdir={unconditional_run}", "--label=1",
                                         f"--output={tmp_path / 'x.png'}"),
      "expected a file name ending in .gif or .png with --interpolate": _generate(
          f"--workdir={conditional_run}", "--interpolate", f"--output={tmp_path / 'x.npy'}"),
      "at least 2 frames": _generate(f"--workdir={conditional_run}", "--interpolate", "--num=1",
                                     f"--output={tmp_path / 'x.gif'}"),
  }
  sevens = _generate(f"--workdir={conditional_run}", "--label=7", "--num=6",
                     f"--output={tmp_path / 'sevens.npy'}")
  walk = _generate(f"--workdir={unconditional_run}", "--interpolate", "--num=5",
                   f"--output={tmp_path / 'walk.gif'}")
  classes = _generate(f"--workdir={conditional_run}", "--num=20", f"--output={tmp_path / 'grid.png'}")
  for message, process in failures.items():
    stderr = processes.communicate(process)[1]
    assert process.returncode == 2, stderr
    assert message in stderr and "Traceback" not in stderr
  for process in (sevens, walk, classes):
    _, stderr = processes.communicate(process)
    assert process.returncode == 0, stderr

  config, state, spec = restore.restore_run(conditional_run)
  expected = sampling.generate(spec, state, *sampling.class_inputs(spec, jax.random.PRNGKey(0), 6, 7),
                              mode=config.sampling)
  np.testing.assert_array_equal(np.load(tmp_path / "sevens.npy"), expected[..., 0])
  with Image.open(tmp_path / "walk.gif") as gif:
    assert gif.n_frames == 5 and gif.size == (28 * 4, 28 * 4)
  with Image.open(tmp_path / "walk.png") as strip:  # At the GIF's scale.
    assert strip.size == ((2 + 5 * 30) * 4, (2 + 30) * 4)
  with Image.open(tmp_path / "grid.png") as grid:  # A column per class.
    assert grid.size == (2 + 10 * 30, 2 + 2 * 30)


def test_training_grids_of_a_conditional_gan_have_a_column_per_class(conditional_run):
  _, _, spec = restore.restore_run(conditional_run)
  assert sampling.grid_columns(spec) == 10
  assert np.array_equal(np.asarray(sampling.sampling_labels(spec, 80)).reshape(8, 10),
                        np.tile(np.arange(10), (8, 1)))  # Row-major: column j is class j.
  for name in ("step_0000000.png", "step_0000004.png"):
    with Image.open(f"{conditional_run}/samples/{name}") as grid:
      assert grid.size == (2 + 10 * 30, 2 + 8 * 30)


def test_cgan_config_is_conditional():
  config = cgan.get_config()
  assert config.model.conditional and config.model.name == "dcgan"


def label_accuracy(spec, state, evaluator, num_per_class: int, seed: int = 0) -> np.ndarray:
  """Per class k, the fraction of `generate --label=k` images the evaluator classifies as k."""
  accuracy = []
  for label in range(spec.label_classes):
    images = sampling.generate(spec, state, *sampling.class_inputs(
        spec, jax.random.PRNGKey(seed), num_per_class, label), mode="running")
    _, logits = classifier.features_and_logits(evaluator, images)
    accuracy.append(np.mean(np.argmax(logits, axis=1) == label))
  return np.array(accuracy)


def test_cgan_config_draws_the_requested_digits(mnist_idx_dir, tmp_path, one_device):
  """`cgan.py` at a reduced size (width 16, 5 sub-clusters a class, 700 steps on real MNIST): the
  evaluator reads the requested digit far above chance (0.1), for most labels in most of their
  samples; `evaluate`'s label accuracy of a conditional run says the same. (So short a run has not
  found every class yet; with the 40 sub-clusters of the full config, 700 steps find none.)"""
  config = cgan.get_config()
  config.update(num_steps=CGAN_TEST_STEPS, log_every_steps=CGAN_TEST_STEPS, eval_every_steps=0,
                eval_final_num=0, checkpoint_every_steps=CGAN_TEST_STEPS)
  config.model.update(width=16, clusters=5)
  config.data.update(source="idx", idx_dir=mnist_idx_dir)
  state = loop.train_and_evaluate(config, str(tmp_path))
  _, _, spec = restore.restore_run(str(tmp_path))
  evaluator = classifier.load_evaluator()
  accuracy = label_accuracy(spec, state, evaluator, 100)
  print("accuracy per label:", np.round(accuracy, 2))
  assert accuracy.mean() > 0.75 and np.sum(accuracy > 0.5) >= 8, accuracy

  reference = run_eval.load_reference(evaluator, config.data)
  sample = lambda s, k, n: sampling.sample_images(spec, s, k, n, mode=config.sampling)
  metrics = run_eval.evaluate_state(sample, state, jax.random.PRNGKey(0), 1000, evaluator,
                                    reference, kid_subsets=2, num_classes=spec.label_classes)
  assert metrics["label_accuracy"] == pytest.approx(accuracy.mean(), abs=0.1)
  assert metrics["label_accuracy_min"] == pytest.approx(accuracy.min(), abs=0.15)
