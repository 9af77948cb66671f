"""Evaluation in training and from the command line, the best checkpoint, and generator EMA."""

import json
import os
import shutil
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.config import validation
from jaxgan.config.presets import best, dcgan, fashion, mlp_ema, smoke
from jaxgan.core import gan, sampling
from jaxgan.data import batches as data_lib
from jaxgan.errors import ConfigError
from jaxgan.evaluation import classifier, run_eval
from jaxgan.run import checkpoint, restore
from jaxgan.run import workdir as workdir_lib
from jaxgan.training import loop
from tests import processes
from tests.conftest import REPO_ROOT, write_tiny_idx_dir

# Training runs and command-line subprocesses: in CI, not in the edit loop (-m "not slow").
pytestmark = pytest.mark.slow

NUM_IMAGES = 200  # Train and test: the real held-out set has 200 images too.
EMA_DECAY = 0.9
_jit_update = jax.jit(gan.gan_update, static_argnums=0)  # Eager, the update takes ~30 s.


@pytest.fixture(scope="module")
def idx_dir(tmp_path_factory):
  """Four IDX files of NUM_IMAGES random 28x28 images."""
  return write_tiny_idx_dir(tmp_path_factory.mktemp("idx"), NUM_IMAGES)


def _config(idx_dir, **overrides):
  """The smoke run (40 steps) with EMA, evaluations of 64 samples every 20 steps and 100 at the end."""
  config = smoke.get_config()
  config.data.source = "idx"
  config.data.idx_dir = idx_dir
  config.ema_decay = EMA_DECAY
  config.eval_every_steps = 20
  config.eval_num = 64
  config.eval_final_num = 100
  config.update(overrides)
  return config


@pytest.fixture(scope="module")
def eval_run(idx_dir, tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("eval_run"))
  return workdir, loop.train_and_evaluate(_config(idx_dir), workdir)


def _metrics(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f]


def _run(module, *args):
  return processes.run([sys.executable, "-m", module, *args], cwd=REPO_ROOT, capture_output=True,
                       text=True, check=False)


def test_training_evaluates_and_keeps_the_best_checkpoint(eval_run):
  workdir, _ = eval_run
  records = _metrics(workdir)
  periodic = [r for r in records if "eval/fcd" in r]
  assert [r["step"] for r in periodic] == [20, 40]
  for r in periodic:
    assert r["eval/num"] == 64 and r["eval/fcd"] > 0 and r["eval/fcd_ratio"] > 0
    assert 1 <= r["eval/mnist_score"] <= 10 and 0 <= r["eval/precision"] <= 1
  best_step = min(periodic, key=lambda r: r["eval/fcd"])["step"]
  with checkpoint.Checkpoints(os.path.join(workdir, workdir_lib.BEST_DIR), create=False) as ckpts:
    assert ckpts.all_steps() == [best_step]
    assert ckpts.run_info(best_step)["fcd"] == min(r["eval/fcd"] for r in periodic)
  _, best_state, _ = restore.restore_run(workdir, best=True)
  assert int(best_state.step) == best_step

  (final,) = [r for r in records if "eval_final/fcd" in r]
  assert final["step"] == 40 and final["eval_final/num"] == 100
  with open(os.path.join(workdir, workdir_lib.EVAL_FILE)) as f:
    saved = json.load(f)
  assert saved["step"] == 40 and saved["checkpoint"] == "latest"
  assert {k: v for k, v in saved.items() if k not in ("step", "checkpoint")} == {
      k.removeprefix("eval_final/"): v for k, v in final.items() if k != "step"}


def test_best_checkpoint_survives_a_resume(eval_run, idx_dir, tmp_path):
  """A run stopped and resumed keeps the same best checkpoint as the uninterrupted one."""
  workdir = str(tmp_path)
  loop.train_and_evaluate(_config(idx_dir, num_steps=20, eval_final_num=0), workdir)
  loop.train_and_evaluate(_config(idx_dir, eval_final_num=0), workdir)
  steps = lambda d: checkpoint.Checkpoints(os.path.join(d, workdir_lib.BEST_DIR), create=False)
  with steps(workdir) as resumed, steps(eval_run[0]) as uninterrupted:
    assert resumed.all_steps() == uninterrupted.all_steps()


def test_evaluate_command_reproduces_the_final_evaluation(eval_run):
  workdir, _ = eval_run
  with open(os.path.join(workdir, workdir_lib.EVAL_FILE)) as f:
    final = json.load(f)
  result = _run("experiments.evaluate", f"--workdir={workdir}", "--num=100")
  assert result.returncode == 0, result.stderr
  printed = json.loads(result.stdout.strip().splitlines()[-1])
  assert printed.keys() == final.keys()
  assert (printed["step"], printed["checkpoint"]) == (40, "latest")
  for name, value in final.items():
    if name not in ("step", "checkpoint"):
      assert printed[name] == pytest.approx(value, rel=1e-5), name
  with open(os.path.join(workdir, workdir_lib.EVAL_FILE)) as f:
    assert json.load(f) == printed


@pytest.mark.parametrize("args, code, message", [
    (["--num=500"], 2,
     "error: --num: got 500, expected an integer in [2, 200] (the real held-out set's size)"),
    (["--best", "--step=20"], 2, "error: --best and --step exclude each other"),
])
def test_evaluate_command_rejects(eval_run, args, code, message):
  result = _run("experiments.evaluate", f"--workdir={eval_run[0]}", *args)
  assert result.returncode == code
  assert result.stderr.strip() == message


def test_generate_best_with_another_sampling_mode(eval_run, tmp_path):
  workdir, _ = eval_run
  output = tmp_path / "best.npy"
  result = _run("experiments.generate", f"--workdir={workdir}", "--best", "--num=5", "--seed=3",
                "--sampling=running", f"--output={output}")
  assert result.returncode == 0, result.stderr
  config, state, spec = restore.restore_run(workdir, best=True)
  assert config.sampling != "running"
  expected = sampling.sample_images(spec, state, jax.random.PRNGKey(3), 5, mode="running",
                                    seed=config.seed)[..., 0]
  np.testing.assert_array_equal(np.load(output), expected)


@pytest.mark.parametrize("which", ["--step=20", "--best"])
def test_evaluate_flags_pick_the_checkpoint_sampling_noise_and_kid_subsets(eval_run, tmp_path, which):
  workdir = shutil.copytree(eval_run[0], tmp_path / "run")  # evaluate rewrites its eval.json.
  result = _run("experiments.evaluate", f"--workdir={workdir}", which, "--num=50", "--seed=5",
                "--kid_subsets=3", "--sampling=running")
  assert result.returncode == 0, result.stderr
  printed = json.loads(result.stdout.strip().splitlines()[-1])
  config, state, spec = restore.restore_run(str(workdir), 20 if which == "--step=20" else None,
                                            best=which == "--best")
  assert (printed["step"], printed["checkpoint"]) == (
      int(state.step), "step" if which == "--step=20" else "best")
  evaluator = classifier.load_evaluator()
  expected = run_eval.evaluate_state(
      sampling.Sampler(spec, "running", config.seed), state, run_eval.eval_key(5), 50, evaluator,
      run_eval.load_reference(evaluator, config.data), kid_subsets=3)
  for name, value in expected.items():
    assert printed[name] == pytest.approx(value, rel=1e-5), name


def test_too_many_eval_samples_fail_before_training(idx_dir, tmp_path):
  with pytest.raises(ConfigError, match=r"config.eval_num: got 256, expected an integer in \[2, 200\]"):
    loop.train_and_evaluate(_config(idx_dir, eval_num=256), str(tmp_path))
  assert not os.path.exists(tmp_path / "metrics.jsonl")


def test_ema_is_checkpointed_and_used_for_samples(eval_run):
  workdir, final_state = eval_run
  _, restored, spec = restore.restore_run(workdir)
  assert restored.ema_params is not None
  for a, b in zip(jax.tree.leaves(restored.ema_params), jax.tree.leaves(final_state.ema_params)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  key = jax.random.PRNGKey(0)
  z_BxZ, _ = sampling.fixed_inputs(spec, key, 8)
  sample = lambda params: data_lib.to_uint8(
      spec.generate(params, restored.g_batch_stats, z_BxZ, None, train=False)[0], spec.value_range)
  from_ema, from_g = sample(restored.ema_params), sample(restored.g_params)
  assert not np.array_equal(from_ema, from_g)
  # The same images, but for a rare rounding difference of one grey level (eager against jitted).
  difference = np.abs(sampling.sample_images(spec, restored, key, 8, mode="running").astype(int) -
                      from_ema.astype(int))
  assert difference.max() <= 1 and difference.mean() < 1e-3


def test_ema_update_in_the_step(idx_dir):
  """After step 0, ema = d * ema + (1 - d) * new g_params from the initial g, d = min(decay, 1/10)."""
  config = _config(idx_dir)
  state, spec = gan.init_state(config, (28, 28, 1))
  initial_g = state.g_params
  real = jnp.zeros((16, 28, 28, 1))
  z = gan.sample_noise(spec, jax.random.PRNGKey(1), 16)
  new, _ = _jit_update(spec, state, real, None, z)
  decay = min(EMA_DECAY, 1 / 10)  # The warm-up's value at step 0.
  expected = jax.tree.map(lambda e, g: decay * e + (1 - decay) * g, initial_g, new.g_params)
  for a, b in zip(jax.tree.leaves(new.ema_params), jax.tree.leaves(expected)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
  assert not np.allclose(np.asarray(jax.tree.leaves(new.ema_params)[0]),
                         np.asarray(jax.tree.leaves(new.g_params)[0]))
  no_ema, _ = gan.init_state(_config(idx_dir, ema_decay=0.0), (28, 28, 1))
  assert no_ema.ema_params is None and no_ema.sampling_params() is no_ema.g_params


@pytest.mark.parametrize("get_config", [best.get_config, mlp_ema.get_config, dcgan.get_config,
                                        fashion.get_config])
def test_improved_configs_are_valid_and_evaluate(get_config):
  config = get_config()
  config.data.idx_dir = "/some/dir"
  validation.validate(config)
  assert config.ema_decay > 0 and config.eval_every_steps > 0 and config.eval_final_num == 10_000


def test_validate_rejects_negative_eval_final_num():
  config = smoke.get_config()
  config.data.idx_dir = "/some/dir"
  config.eval_final_num = -1
  with pytest.raises(ConfigError, match=r"config.eval_final_num: got -1, expected an integer >= 0"):
    validation.validate(config)


def test_ema_decay_is_capped_at_ema_decay_late_in_training(idx_dir):
  """At step 10^6 the warm-up (1 + t) / (10 + t) is above ema_decay, so the cap decides."""
  state, spec = gan.init_state(_config(idx_dir), (28, 28, 1))
  state = state.replace(step=jnp.asarray(1_000_000, jnp.int32))
  new, _ = _jit_update(spec, state, jnp.zeros((16, 28, 28, 1)), None,
                       gan.sample_noise(spec, jax.random.PRNGKey(1), 16))
  assert (1 + 1e6) / (10 + 1e6) > EMA_DECAY
  expected = jax.tree.map(lambda e, g: EMA_DECAY * e + (1 - EMA_DECAY) * g, state.ema_params,
                          new.g_params)
  for a, b in zip(jax.tree.leaves(new.ema_params), jax.tree.leaves(expected)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
