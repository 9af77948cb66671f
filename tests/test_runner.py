"""End-to-end tests of the runner: a smoke run, resume, generate, and bad configs through the CLI."""

import dataclasses
import glob
import json
import os
import re
import struct
import sys

import jax
import ml_collections
import numpy as np
import pytest
from PIL import Image
from tensorboardX.proto import event_pb2

from jaxgan.config import validation
from jaxgan.config.presets import dcgan, mlp_gan, smoke
from jaxgan.core import gan, sampling
from jaxgan.errors import CheckpointError, ConfigError
from jaxgan.run import checkpoint, restore
from jaxgan.run import workdir as workdir_lib
from jaxgan.training import loop
from tests import processes
from tests.conftest import REPO_ROOT, TINY_IDX_IMAGES

NUM_IMAGES = TINY_IDX_IMAGES
# Smoke config on NUM_IMAGES images: 12 steps an epoch, 40 steps, logs every 10, checkpoints every 20.
STEPS_PER_EPOCH, NUM_STEPS = NUM_IMAGES // 16, 40
GRID_PX = 2 + 8 * (28 + 2)


def _smoke_config(idx_dir, **overrides):
  config = smoke.get_config()
  config.data.source = "idx"
  config.data.idx_dir = idx_dir
  config.update(overrides)
  return config


@pytest.fixture(scope="module")
def smoke_run(tiny_idx_dir, tmp_path_factory):
  """(workdir, final state) of one uninterrupted smoke run."""
  workdir = str(tmp_path_factory.mktemp("smoke"))
  state = loop.train_and_evaluate(_smoke_config(tiny_idx_dir), workdir)
  return workdir, state


def _read_metrics(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f]


def _tensorboard_points(workdir) -> set[tuple[str, int]]:
  """(tag, step) of every scalar in the run's TensorBoard event files (TFRecord framing)."""
  points = set()
  for path in glob.glob(os.path.join(workdir, "tensorboard", "events.out.tfevents.*")):
    with open(path, "rb") as f:
      data = f.read()
    pos = 0
    while pos < len(data):
      (length,) = struct.unpack("<Q", data[pos:pos + 8])
      event = event_pb2.Event.FromString(data[pos + 12:pos + 12 + length])
      pos += 12 + length + 4
      points.update((value.tag, event.step) for value in event.summary.value)
  return points


def _assert_states_equal(a, b):
  leaves_a, tree_a = jax.tree_util.tree_flatten_with_path(a)
  leaves_b, tree_b = jax.tree_util.tree_flatten_with_path(b)
  assert tree_a == tree_b
  for (path, x), (_, y) in zip(leaves_a, leaves_b):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=jax.tree_util.keystr(path))


def test_smoke_run_writes_pictures_metrics_and_checkpoints(smoke_run):
  workdir, state = smoke_run
  assert int(state.step) == NUM_STEPS

  grid_steps = [0, STEPS_PER_EPOCH, 2 * STEPS_PER_EPOCH, 3 * STEPS_PER_EPOCH, NUM_STEPS]
  grids = sorted(glob.glob(os.path.join(workdir, "samples", "step_*.png")))
  assert [os.path.basename(p) for p in grids] == [f"step_{s:07d}.png" for s in grid_steps]
  for path in grids:
    with Image.open(path) as image:
      assert image.size == (GRID_PX, GRID_PX) and image.mode == "L"
  with Image.open(os.path.join(workdir, "samples", "progress.gif")) as gif:
    assert gif.n_frames == len(grid_steps)
  with Image.open(os.path.join(workdir, "loss_curves.png")) as curves:
    assert curves.format == "PNG"

  losses = [r for r in _read_metrics(workdir) if "g_loss" in r]
  assert [r["step"] for r in losses] == [10, 20, 30, 40]
  for record in losses:
    for name in ("g_loss", "d_loss", "real_loss", "fake_loss", "d_real", "d_fake", "images_per_sec"):
      assert np.isfinite(record[name]), name
  epochs = [r for r in _read_metrics(workdir) if "epoch_seconds" in r]
  assert [r["step"] for r in epochs] == grid_steps[1:-1]
  points = _tensorboard_points(workdir)
  assert {("g_loss", s) for s in (10, 20, 30, 40)} <= points
  assert ("d_loss", 40) in points

  with checkpoint.Checkpoints(os.path.join(workdir, "checkpoints"), create=False) as ckpts:
    assert ckpts.all_steps() == [20, 40]
  saved = workdir_lib.load_config(workdir)
  assert json.loads(saved.to_json()) == json.loads(_smoke_config(saved.data.idx_dir).to_json())


def test_resume_equals_uninterrupted_run(smoke_run, tiny_idx_dir, tmp_path):
  workdir, uninterrupted = smoke_run
  resumed_dir = str(tmp_path)
  stopped = loop.train_and_evaluate(_smoke_config(tiny_idx_dir, num_steps=20), resumed_dir)
  # The uninterrupted run saved step 20 asynchronously while it went on training.
  _, at_20, _ = restore.restore_run(workdir, step=20)
  _assert_states_equal(stopped, at_20)

  resumed = loop.train_and_evaluate(_smoke_config(tiny_idx_dir), resumed_dir)
  _assert_states_equal(resumed, uninterrupted)
  _assert_states_equal(restore.restore_run(resumed_dir)[1], restore.restore_run(workdir)[1])
  drop_timing = lambda records: [
      {k: v for k, v in r.items() if k not in ("images_per_sec", "epoch_seconds")} for r in records]
  assert drop_timing(_read_metrics(resumed_dir)) == drop_timing(_read_metrics(workdir))
  for name in ("step_0000024.png", "step_0000040.png"):
    with open(os.path.join(workdir, "samples", name), "rb") as a, \
         open(os.path.join(resumed_dir, "samples", name), "rb") as b:
      assert a.read() == b.read(), name


def test_refuses_checkpoint_of_another_model(smoke_run, tiny_idx_dir):
  workdir, _ = smoke_run
  config = _smoke_config(tiny_idx_dir)
  config.model.g_hidden = (32, 48)
  with pytest.raises(ConfigError, match=re.escape("model.g_hidden (32, 64) -> (32, 48); use a new --workdir")):
    loop.train_and_evaluate(config, workdir)


def test_a_checkpoint_without_a_newer_state_field_restores_with_that_feature_off(smoke_run,
                                                                               tmp_path):
  """A checkpoint of an older version lacks the state fields added since (d_sn_vectors): it restores,
  with them None, while a config that turns the feature on is refused."""
  _, state = smoke_run
  older = {f.name: getattr(state, f.name) for f in dataclasses.fields(state)
           if f.name != "d_sn_vectors"}
  with checkpoint.Checkpoints(str(tmp_path)) as ckpts:
    ckpts.save(older, 7, {})
  with checkpoint.Checkpoints(str(tmp_path), create=False) as ckpts:
    restored = ckpts.restore(state, 7)
    assert restored.d_sn_vectors is None
    _assert_states_equal(restored, state)
    config = smoke.get_config()
    config.model.d_spectral_norm = True
    with_sn, _ = gan.init_state(config, (28, 28, 1))
    with pytest.raises(CheckpointError, match="does not fit the config: d_sn_vectors/"):
      ckpts.restore(with_sn, 7)


def test_sample_images_is_deterministic(smoke_run):
  _, state, spec = restore.restore_run(smoke_run[0])
  key = jax.random.PRNGKey(3)
  images = sampling.sample_images(spec, state, key, 70, chunk=32, mode="running")
  assert images.shape == (70, 28, 28, 1) and images.dtype == np.uint8
  np.testing.assert_array_equal(images, sampling.sample_images(spec, state, key, 70, chunk=32, mode="running"))
  # Another chunk size changes the matmul shapes, so a pixel may round the other way.
  one_chunk = sampling.sample_images(spec, state, key, 70, mode="running")
  assert np.abs(images.astype(int) - one_chunk).max() <= 1
  assert np.mean(images == one_chunk) > 0.999
  assert not np.array_equal(images, sampling.sample_images(spec, state, jax.random.PRNGKey(4), 70, mode="running"))


def _run(module, *args, cwd=REPO_ROOT):
  return processes.start([sys.executable, "-m", module, *args], cwd=cwd, stdout=processes.PIPE,
                         stderr=processes.PIPE, text=True)


def test_generate_command(smoke_run, tmp_path):
  workdir = smoke_run[0]
  runs = {name: _run("experiments.generate", f"--workdir={workdir}", "--num=10", "--seed=7",
                     f"--output={tmp_path / name}")
          for name in ("a.npy", "b.npy", "grid.png")}
  for name, process in runs.items():
    _, stderr = processes.communicate(process)
    assert process.returncode == 0, stderr
  a = np.load(tmp_path / "a.npy")
  assert a.shape == (10, 28, 28) and a.dtype == np.uint8
  assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()
  with Image.open(tmp_path / "grid.png") as grid:
    assert grid.size == (2 + 4 * 30, 2 + 3 * 30)


def test_restore_run_of_a_missing_step(smoke_run):
  with pytest.raises(CheckpointError, match=r"no checkpoint at step 30 .*\(found steps \[20, 40\]\)"):
    restore.restore_run(smoke_run[0], step=30)


@pytest.mark.parametrize("get_config", [mlp_gan.get_config, dcgan.get_config, smoke.get_config])
def test_shipped_configs_are_valid(get_config):
  config = get_config()
  config.data.idx_dir = "/some/dir"
  validation.validate(config)


@pytest.mark.parametrize("name, field, value", [
    ("dcgan", "model.g_hidden", (32, 64)), ("dcgan", "model.d_hidden", (64,)),
    ("mlp", "model.width", 32), ("mlp", "model.stages", 3), ("mlp", "model.d_minibatch_std", 4)])
def test_a_field_of_another_model_family_is_refused(name, field, value):
  config = (dcgan if name == "dcgan" else mlp_gan).get_config()
  config.data.idx_dir = "/some/dir"
  *parents, leaf = field.split(".")
  setattr(config[parents[0]], leaf, value)
  with pytest.raises(ConfigError, match=rf"config.{field}: got .*, but only model "
                     rf"{'mlp' if name == 'dcgan' else 'dcgan'} reads it \(model.name is '{name}'\)"):
    validation.validate(config)


def test_minibatch_std_groups_must_split_the_batch():
  config = dcgan.get_config()
  config.data.idx_dir = "/some/dir"
  config.model.d_minibatch_std = 4
  validation.validate(config)
  config.model.d_minibatch_std = 3
  with pytest.raises(ConfigError, match=re.escape(
      "config.model.d_minibatch_std: got 3, but batch_size 64 does not split into groups of it")):
    validation.validate(config)


@pytest.mark.parametrize("field, value, message", [
    ("batch_size", True, "config.batch_size: got True, expected an integer >= 1"),
    ("model.g_hidden", (), "config.model.g_hidden"),
    ("model.d_hidden", [8, "a"], "config.model.d_hidden"),
    ("optimizer.eps", 0.0, "config.optimizer.eps: got 0.0"),
    ("optimizer.g_lr", float("nan"), "config.optimizer.g_lr: got nan"),
    ("model.conditional", 1, "config.model.conditional: got 1, expected true or false"),
    ("seed", -1, "config.seed"),
])
def test_validate_rejects(field, value, message):
  config = mlp_gan.get_config().to_dict()  # Plain dicts: no ConfigDict type checks on assignment.
  config["data"]["idx_dir"] = "/some/dir"
  *parents, name = field.split(".")
  node = config
  for part in parents:
    node = node[part]
  node[name] = value
  with pytest.raises(ConfigError, match=re.escape(message)):
    validation.validate(ml_collections.ConfigDict(config))


def test_validate_rejects_unknown_field():
  config = mlp_gan.get_config()
  config.model.depth = 3
  with pytest.raises(ConfigError, match="config.model.depth: unknown field"):
    validation.validate(config)


BAD_FLAGS = [
    ("--config.batch_size=0", "config.batch_size: got 0, expected an integer >= 1"),
    ("--config.model.name=resnet", "config.model.name: got 'resnet', expected one of 'mlp', 'dcgan'"),
    ("--config.optimizer.g_lr=-0.001", "config.optimizer.g_lr: got -0.001, expected a number in (0.0"),
    ("--config.loss.generator=wasserstein", "expected one of 'non_saturating', 'minimax'"),
    ("--config.data.source=hdf5", "config.data.source: got 'hdf5', expected one of 'tfds', 'idx'"),
    ("--config.data.range=pm1", "config.data.range: got 'pm1', expected one of 'unit', 'symmetric'"),
    ("--config.dtype=float16", "config.dtype: got 'float16', expected one of 'float32', 'bfloat16'"),
    ("--config.optimizer.b1=1.5", "config.optimizer.b1: got 1.5, expected a number in [0.0, 1.0)"),
    ("--config.model.nope=1", "bad flag: --config.model.nope: the config has no field 'model.nope'"),
    ("--config.batch_size=abc", "bad flag: flag --config.batch_size=abc"),
    ("--config=experiments/configs/missing.py", "bad flag: --config=experiments/configs/missing.py"),
]


@pytest.fixture(scope="module")
def bad_flag_results(tmp_path_factory):
  """{flag: (exit code, stderr, workdir exists)} of `python -m experiments.mnist_gan FLAG`, run at once."""
  root = tmp_path_factory.mktemp("bad")
  runs = {flag: (_run("experiments.mnist_gan", flag, f"--workdir={root / str(i)}"), root / str(i))
          for i, (flag, _) in enumerate(BAD_FLAGS)}
  return {flag: (p.wait(), p.stderr.read(), workdir.exists()) for flag, (p, workdir) in runs.items()}


@pytest.mark.slow
@pytest.mark.parametrize("flag, message", BAD_FLAGS)
def test_bad_flag_exits_2_with_one_line(bad_flag_results, flag, message):
  code, stderr, workdir_created = bad_flag_results[flag]
  assert code == 2, stderr
  assert "Traceback" not in stderr
  lines = stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], stderr
  assert not workdir_created


def test_num_epochs_trains_whole_epochs_when_num_steps_is_0(tiny_idx_dir, tmp_path):
  state = loop.train_and_evaluate(_smoke_config(tiny_idx_dir, num_steps=0, num_epochs=2,
                                                checkpoint_every_steps=100), str(tmp_path))
  assert int(state.step) == 2 * STEPS_PER_EPOCH
  assert checkpoint.Checkpoints(str(tmp_path / "checkpoints")).all_steps() == [2 * STEPS_PER_EPOCH]
  grids = sorted(os.listdir(tmp_path / "samples"))
  assert grids == ["progress.gif", "step_0000000.png", "step_0000012.png", "step_0000024.png"]
