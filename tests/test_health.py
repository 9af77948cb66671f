"""GAN health alarms: pure checks, one warning per onset, never a crash; broken GANs set them off."""

import logging

import jax
import numpy as np
import pytest

from jaxgan.config.presets import smoke
from jaxgan.core import gan, sampling
from jaxgan.errors import JaxganError
from jaxgan.training import health, loop
from tests.conftest import write_idx


def _monitor(**overrides):
  config = smoke.get_config().health
  config.update(overrides)
  return health.HealthMonitor(config)


def test_d_has_won_needs_patience_steps_below_the_floor():
  assert health.d_has_won([0.5, 1e-4, 1e-4, 1e-4], floor=1e-3, patience=3)
  assert not health.d_has_won([1e-4, 1e-4, 0.5, 1e-4], floor=1e-3, patience=3)
  assert not health.d_has_won([1e-4, 1e-4], floor=1e-3, patience=3)


def test_mean_pairwise_distance():
  rng = np.random.default_rng(0)
  constant = np.full((16, 28, 28, 1), 128, np.uint8)
  assert health.mean_pairwise_distance(constant) == 0.0
  # Independent uniform pixels: E|a - b|^2 = 1/6, so the RMS distance is about 0.408.
  noise = rng.integers(0, 256, (16, 28, 28, 1)).astype(np.uint8)
  assert health.mean_pairwise_distance(noise) == pytest.approx(np.sqrt(1 / 6), abs=0.01)
  floats = noise.astype(np.float32) / 255.0
  assert health.mean_pairwise_distance(floats) == pytest.approx(
      health.mean_pairwise_distance(noise), abs=1e-6)


def test_monitor_warns_once_per_onset_and_again_after_recovery():
  monitor = _monitor(max_grad_norm=10.0)
  assert monitor.update(10, dict(d_loss=1.0, g_grad_norm=1.0, d_grad_norm=1.0)) == []
  (warning,) = monitor.update(20, dict(d_loss=1.0, g_grad_norm=50.0, d_grad_norm=1.0))
  assert warning.startswith("step 20: health: exploding gradients: g_grad_norm 50")
  assert monitor.update(30, dict(d_loss=1.0, g_grad_norm=60.0, d_grad_norm=1.0)) == []
  assert monitor.update(40, dict(d_loss=1.0, g_grad_norm=1.0, d_grad_norm=1.0)) == []
  assert len(monitor.update(50, dict(d_loss=1.0, g_grad_norm=70.0, d_grad_norm=1.0))) == 1


def test_monitor_never_raises():
  monitor = _monitor()
  (warning,) = monitor.update(10, dict(g_loss=1.0))  # No d_loss.
  assert warning.startswith("step 10: health: check failed: KeyError") and "\n" not in warning
  (warning,) = monitor.update(20, dict(d_loss=1.0), samples=np.zeros((4, 3)))  # Wrong rank is fine.
  assert "collapsed diversity" in warning


def test_nonfinite_streak_stops_exactly_at_the_limit_naming_step_and_quantities():
  streak = health.NonfiniteStreak(count=0, limit=3)
  finite = dict(g_loss=1.0, d_loss=1.0, g_grad_norm=1.0, d_grad_norm=1.0)
  nan = dict(finite, d_loss=np.nan, d_grad_norm=np.inf)
  streak.update(1, np.int32(1), nan)
  streak.update(2, np.int32(1), nan)
  streak.update(3, np.int32(0), finite)  # A finite step resets the streak.
  streak.update(4, np.int32(1), nan)
  streak.update(5, np.int32(1), nan)
  with pytest.raises(JaxganError, match=r"3 non-finite steps in a row up to step 6 "
                     r"\(config.max_nonfinite_steps=3\): d_loss, d_grad_norm not finite"):
    streak.update(6, np.int32(1), nan)
  # One flag per step of a fused call; the streak carried in by a resumed state counts.
  streak = health.NonfiniteStreak(count=1, limit=3)
  stacked = {name: np.array([1.0, np.nan, 1.0, 1.0]) for name in finite}
  with pytest.raises(JaxganError, match=r"3 non-finite steps in a row up to step 11 .*: g_loss, d_loss, g_grad_norm, d_grad_norm not"):
    streak.update(13, np.array([1, 1, 0, 0]), stacked)


def test_the_streak_names_every_quantity_of_the_update_that_is_not_finite():
  """The names come from the update's metrics: the R1 term is named though no list mentions it."""
  streak = health.NonfiniteStreak(count=0, limit=1)
  metrics = dict(g_loss=1.0, d_loss=1.0, r1=np.nan, nonfinite=1)
  with pytest.raises(JaxganError, match=r"step 7 .*: r1 not finite"):
    streak.update(7, np.int32(1), metrics)


def test_constant_generator_sets_off_the_diversity_alarm():
  """A real generator whose weights are all zero outputs sigmoid(0) = 0.5 for any noise."""
  config = smoke.get_config()
  state, spec = gan.init_state(config, (28, 28, 1))
  key = jax.random.PRNGKey(0)
  healthy = sampling.sample_images(spec, state, key, 32, mode="running")
  broken = state.replace(g_params=jax.tree.map(np.zeros_like, state.g_params))
  collapsed = sampling.sample_images(spec, broken, key, 32, mode="running")
  assert _monitor().update(10, dict(d_loss=1.0), samples=healthy) == []
  (warning,) = _monitor().update(10, dict(d_loss=1.0), samples=collapsed)
  assert "collapsed diversity: samples differ by 0 RMS per pixel" in warning


@pytest.fixture(scope="module")
def blank_idx_dir(tmp_path_factory):
  """IDX files of 200 all-black images: real data a frozen generator cannot come near."""
  path = tmp_path_factory.mktemp("blank")
  for images_name, labels_name in (("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                                   ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")):
    write_idx(path / images_name, np.zeros((200, 28, 28), np.uint8))
    write_idx(path / labels_name, np.zeros((200,), np.uint8))
  return str(path)


def _train_and_read_warnings(idx_dir, workdir, caplog, num_steps, **optimizer):
  config = smoke.get_config()
  config.data.source, config.data.idx_dir = "idx", idx_dir
  config.num_steps, config.log_every_steps, config.checkpoint_every_steps = num_steps, 1, num_steps
  config.optimizer.update(optimizer)
  config.health.d_loss_floor, config.health.d_loss_patience = 0.05, 3
  state = loop.train_and_evaluate(config, str(workdir))
  assert int(state.step) == num_steps  # Warnings never stop a run.
  return [r.getMessage() for r in caplog.records
          if r.name.startswith("jaxgan") and r.levelno == logging.WARNING]


@pytest.mark.slow
def test_frozen_generator_lets_the_discriminator_win(blank_idx_dir, tmp_path, caplog):
  warnings = _train_and_read_warnings(blank_idx_dir, tmp_path, caplog, 30, g_lr=1e-12,
                                      d_lr=1e-2)
  assert any("health: the discriminator has won: d_loss below 0.05 for 3 log steps" in w
             for w in warnings), warnings


@pytest.mark.slow
def test_huge_discriminator_learning_rate_sets_off_the_gradient_alarm(tiny_idx_dir, tmp_path,
                                                                      caplog):
  warnings = _train_and_read_warnings(tiny_idx_dir, tmp_path, caplog, 5, d_lr=1.0)
  assert any("health: exploding gradients: d_grad_norm" in w for w in warnings), warnings
