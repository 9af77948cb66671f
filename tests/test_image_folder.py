"""The folder source: one's own PNG/JPEG images, class subfolders as labels, resize and centre crop."""

import json
import logging
import os
import sys

import numpy as np
import pytest
from PIL import Image

from jaxgan.config import schema
from jaxgan.config.presets import cgan as cgan_config
from jaxgan.data import image_folder, splits
from jaxgan.errors import ConfigError, DataError
from jaxgan.evaluation import run_eval
from jaxgan.training import loop
from tests import processes
from tests.conftest import REPO_ROOT


def _save(path, array, fmt="PNG"):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(array).save(path, format=fmt)


@pytest.fixture
def grey_classes(tmp_path):
  """Two class subfolders of 16x16 grey PNGs (3 'b', 2 'a' images) and one corrupt file."""
  root = tmp_path / "grey"
  for name, count, value in (("b_cats", 3, 200), ("a_dogs", 2, 50)):
    for i in range(count):
      _save(str(root / name / f"{i}.png"), np.full((16, 16), value + i, np.uint8))
  (root / "a_dogs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
  (root / "b_cats" / "notes.txt").write_text("not an image")
  return root


def test_class_subfolders_are_labels_and_a_corrupt_file_is_skipped_with_one_warning(
    grey_classes, caplog):
  with caplog.at_level(logging.WARNING, logger="jaxgan"):
    images, labels = image_folder.read_folder(str(grey_classes))
  assert images.shape == (5, 16, 16, 1) and images.dtype == np.uint8
  np.testing.assert_array_equal(labels, [0, 0, 1, 1, 1])  # Sorted names: a_dogs, then b_cats.
  np.testing.assert_array_equal(images[:, 0, 0, 0], [50, 51, 200, 201, 202])
  warnings = [r.getMessage() for r in caplog.records]
  assert len(warnings) == 1 and "skipped 1 unreadable" in warnings[0] and "broken.png" in warnings[0]


def test_rgb_images_without_subfolders_are_resized_and_centre_cropped(tmp_path):
  root = tmp_path / "rgb"
  wide = np.zeros((16, 32, 3), np.uint8)
  wide[:, :8], wide[:, 8:24], wide[:, 24:] = (255, 0, 0), (0, 255, 0), (0, 0, 255)
  _save(str(root / "wide.png"), wide)
  _save(str(root / "photo.jpg"), np.full((40, 40, 3), (10, 20, 200), np.uint8), fmt="JPEG")
  _save(str(root / "grey.png"), np.full((8, 8), 128, np.uint8))
  with pytest.raises(DataError, match="images of 3 sizes.*--config.data.image_size=S"):
    image_folder.read_folder(str(root))
  images, labels = image_folder.read_folder(str(root), size=8)
  assert images.shape == (3, 8, 8, 3) and not labels.any()  # Colour present: all RGB.
  by_name = dict(zip(["grey.png", "photo.jpg", "wide.png"], images))
  np.testing.assert_array_equal(by_name["grey.png"], np.full((8, 8, 3), 128))
  # 32x16 -> 16x8, centre 8x8: the green middle only.
  assert (by_name["wide.png"][:, 1:-1, 1] > 200).all() and (by_name["wide.png"][:, 1:-1, 0] < 50).all()
  np.testing.assert_allclose(by_name["photo.jpg"].mean((0, 1)), (10, 20, 200), atol=4)
  grey, _ = image_folder.read_folder(str(root), size=8, channels=1)
  assert grey.shape == (3, 8, 8, 1)


def test_folder_errors_are_one_line(tmp_path):
  with pytest.raises(DataError, match="is not a directory"):
    image_folder.read_folder(str(tmp_path / "missing"))
  (tmp_path / "empty" / "sub").mkdir(parents=True)
  with pytest.raises(DataError, match="holds no PNG or JPEG"):
    image_folder.read_folder(str(tmp_path / "empty"))
  (tmp_path / "bad").mkdir()
  (tmp_path / "bad" / "x.jpg").write_bytes(b"junk")
  with pytest.raises(DataError, match="none of its 1 image files could be read"):
    image_folder.read_folder(str(tmp_path / "bad"))
  config = schema.default_config().data
  config.source, config.folder = "folder", str(tmp_path / "bad")
  with pytest.raises(DataError, match="no test split"):
    splits.load_split(config, "test")


@pytest.mark.slow
def test_rgb_folder_trains_the_conditional_dcgan_and_generate_writes_nx32x32x3(tmp_path):
  rng = np.random.default_rng(0)
  for name, colour in (("red", (220, 30, 30)), ("blue", (30, 30, 220))):
    for i in range(8):
      image = np.clip(rng.normal(colour, 20, (32, 32, 3)), 0, 255).astype(np.uint8)
      _save(str(tmp_path / "images" / name / f"{i}.png"), image)
  workdir = tmp_path / "run"
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  train = processes.run(
      [sys.executable, "-m", "experiments.mnist_gan", "--config=experiments/configs/cgan.py",
       f"--workdir={workdir}", "--config.data.source=folder",
       f"--config.data.folder={tmp_path / 'images'}", "--config.num_steps=3",
       "--config.batch_size=8", "--config.model.width=8", "--config.model.clusters=5",
       "--config.eval_every_steps=0",
       "--config.log_every_steps=1", "--config.checkpoint_every_steps=3"],
      cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
  assert train.returncode == 0, train.stderr[-3000:]
  assert (f"evaluation skipped: no evaluator for the images in {tmp_path / 'images'}"
          in train.stderr) and "Traceback" not in train.stderr
  with Image.open(workdir / "samples" / "step_0000003.png") as grid:
    assert grid.mode == "RGB"
  out = tmp_path / "samples.npy"
  generate = processes.run(
      [sys.executable, "-m", "experiments.generate", f"--workdir={workdir}", "--num=5",
       f"--output={out}", "--label=1"],
      cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
  assert generate.returncode == 0, generate.stderr[-3000:]
  samples = np.load(out)
  assert samples.shape == (5, 32, 32, 3) and samples.dtype == np.uint8
  walk = processes.run(
      [sys.executable, "-m", "experiments.generate", f"--workdir={workdir}", "--num=4",
       f"--output={tmp_path / 'walk.gif'}", "--interpolate"],
      cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
  assert walk.returncode == 0, walk.stderr[-3000:]
  for name in ("walk.gif", "walk.png", "run/samples/progress.gif"):
    with Image.open(tmp_path / name) as picture:
      assert picture.convert("RGB").getextrema() != picture.convert("L").convert("RGB").getextrema()
  evaluate = processes.run([sys.executable, "-m", "experiments.evaluate", f"--workdir={workdir}"],
                           cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
  assert evaluate.returncode == 2 and evaluate.stderr.strip().splitlines() == [
      f"error: no evaluator for the images in {tmp_path / 'images'}; with class subfolders, "
      f"python -m experiments.train_evaluator --folder={tmp_path / 'images'} trains one (into "
      f"{tmp_path / 'images' / '.jaxgan'})"]


@pytest.mark.slow
def test_a_labelled_folder_gets_its_own_evaluator_and_its_runs_are_evaluated_with_it(tmp_path):
  """train_evaluator --folder writes a 32x32x3, 3-class evaluator into the folder; a training run
  and `evaluate` then score the run against the folder's own real images."""
  rng = np.random.default_rng(0)
  folder = tmp_path / "images"
  for name, colour in (("red", (220, 30, 30)), ("green", (30, 220, 30)), ("blue", (30, 30, 220))):
    for i in range(21):
      image = np.clip(rng.normal(colour, 25, (32, 32, 3)), 0, 255).astype(np.uint8)
      _save(str(folder / name / f"{i:02d}.png"), image)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  trained = processes.run(
      [sys.executable, "-m", "experiments.train_evaluator", f"--folder={folder}", "--epochs=4",
       "--batch_size=16"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
  assert trained.returncode == 0, trained.stderr[-3000:]
  record = json.loads((folder / ".jaxgan" / "evaluator_folder.json").read_text())
  assert record["image_shape"] == [32, 32, 3] and record["num_classes"] == 3
  assert record["test_accuracy"] == 1.0  # 9 test images (every 7th), of three distinct colours.
  config = cgan_config.get_config()
  config.data.update(source="folder", folder=str(folder))
  config.model.update(width=8, clusters=5)
  config.update(num_steps=2, batch_size=8, eval_every_steps=2, eval_num=20, eval_final_num=30,
                log_every_steps=1, checkpoint_every_steps=2)
  workdir = tmp_path / "run"
  loop.train_and_evaluate(config, str(workdir))
  final = json.loads((workdir / "eval.json").read_text())
  assert final["num"] == 30 and final["real_fcd"] > 0 and final["fcd"] > final["real_fcd"]
  assert 0.0 <= final["label_accuracy"] <= 1.0
  evaluate = processes.run(
      [sys.executable, "-m", "experiments.evaluate", f"--workdir={workdir}", "--num=30"],
      cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
  assert evaluate.returncode == 0, evaluate.stderr[-3000:]
  assert json.loads(evaluate.stdout.strip().splitlines()[-1])["fcd"] == pytest.approx(final["fcd"])
  resized = schema.default_config().data
  resized.update(source="folder", folder=str(folder), image_size=16)
  with pytest.raises(ConfigError, match="^the evaluator classifies 32x32x3 images, the run's are "
                     "16x16x3; set --config.data.image_size"):
    run_eval.load_reference(run_eval.load_evaluator(resized), resized)


def test_an_unlabelled_folder_has_no_evaluator_to_train(tmp_path):
  for i in range(8):
    _save(str(tmp_path / f"{i}.png"), np.full((8, 8), 30 * i, np.uint8))
  result = processes.run(
      [sys.executable, "-m", "experiments.train_evaluator", f"--folder={tmp_path}", "--epochs=1"],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
  assert result.returncode == 2 and result.stderr.strip().splitlines() == [
      f"error: {tmp_path} has a single class: an evaluator classifies labelled images (an image "
      "folder labels them by class subfolders)"]
  assert not (tmp_path / ".jaxgan").exists()
