"""Fashion-MNIST: the offline TFDS import from the real IDX files, and a smoke run on it."""

import logging
import sys

import pytest

from jaxgan.config.presets import smoke
from jaxgan.data import idx, splits, tfds_offline
from jaxgan.errors import DataError
from jaxgan.evaluation import classifier, run_eval
from jaxgan.run import metrics_log
from jaxgan.training import loop
from tests import processes
from tests.conftest import REPO_ROOT


def test_import_refuses_the_mnist_files_as_fashion_mnist(mnist_idx_dir, tmp_path):
  with pytest.raises(DataError, match="holds the MNIST files, not fashion_mnist"):
    tfds_offline.prepare("fashion_mnist", mnist_idx_dir, str(tmp_path))
  assert not tfds_offline.is_prepared("fashion_mnist", str(tmp_path))


def _examples(images_NxHxWxC, labels_N) -> list[tuple[bytes, int]]:
  return sorted(zip((image.tobytes() for image in images_NxHxWxC), labels_N.tolist()))


@pytest.mark.slow
def test_fashion_mnist_import_and_smoke_run(fashion_idx_dir, tmp_path, caplog):
  caplog.set_level(logging.INFO, logger="jaxgan")
  tfds_dir = str(tmp_path / "tfds")
  result = processes.run(
      [sys.executable, "-m", "experiments.import_mnist", "--dataset=fashion_mnist",
       f"--idx_dir={fashion_idx_dir}", f"--tfds_data_dir={tfds_dir}"],
      cwd=REPO_ROOT, capture_output=True, text=True, check=False)
  assert result.returncode == 0, result.stderr
  assert "fashion_mnist prepared" in result.stdout

  config = smoke.get_config()
  config.data.update(dataset="fashion_mnist", source="tfds", tfds_data_dir=tfds_dir, idx_dir="")
  images_N, labels_N = splits.load_split(config.data, "test")
  idx_images_N, idx_labels_N = idx.read_idx_split(fashion_idx_dir, "test")
  assert _examples(images_N, labels_N) == _examples(idx_images_N, idx_labels_N)  # TFDS reorders.
  assert images_N.mean() > 60  # Clothes cover far more of the frame than digits (MNIST: 33).

  config.update(num_steps=20, eval_every_steps=10, eval_num=256)
  workdir = tmp_path / "run"
  loop.train_and_evaluate(config, str(workdir))
  assert (workdir / "samples" / "step_0000020.png").is_file()
  # Evaluated by the Fashion-MNIST evaluator, against Fashion-MNIST's own real baseline.
  evaluations = [r for r in metrics_log.read_records(str(workdir / "metrics.jsonl")) if "eval/fcd" in r]
  assert [r["step"] for r in evaluations] == [10, 20] and (workdir / "checkpoints_best").is_dir()
  assert not any("evaluation skipped" in r.getMessage() for r in caplog.records)
  evaluator = classifier.load_evaluator(dataset="fashion_mnist")
  real = classifier.real_baseline(run_eval.load_reference(evaluator, config.data), 256)
  assert evaluations[-1]["eval/real_fcd"] == pytest.approx(real["fcd"], rel=1e-5)
