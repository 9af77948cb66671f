"""experiments.sweep: a grid of variants trained as separate runs, one table of their evaluations."""

import csv
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def _sweep(workdir, idx_dir, *extra):
  return subprocess.run(
      [sys.executable, "-m", "experiments.sweep", "--config=experiments/configs/smoke.py",
       f"--workdir={workdir}", "--config.data.source=idx", f"--config.data.idx_dir={idx_dir}",
       "--config.num_steps=20", "--config.eval_final_num=200", *extra],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_sweep_trains_two_variants_and_writes_their_table(mnist_idx_dir, tmp_path):
  result = _sweep(tmp_path, mnist_idx_dir, "--sweep=loss.generator=hinge,non_saturating")
  assert result.returncode == 0, result.stderr[-2000:]
  with open(tmp_path / "sweep.csv") as f:
    rows = list(csv.DictReader(f))
  assert [row["variant"] for row in rows] == ["generator=hinge", "generator=non_saturating"]
  for row in rows:
    with open(tmp_path / row["variant"] / "eval.json") as f:
      evaluated = json.load(f)
    assert evaluated["step"] == 20 and evaluated["num"] == 200
    assert float(row["fcd"]) == pytest.approx(evaluated["fcd"]) and float(row["minutes"]) > 0
  assert rows[0]["fcd"] != rows[1]["fcd"]  # The two variants trained differently.
  with open(tmp_path / "sweep.md") as f:
    table = f.read().splitlines()
  assert table[0].startswith("| variant | minutes | fcd |") and len(table) == 4
  # A rerun reuses the finished variants.
  again = _sweep(tmp_path, mnist_idx_dir, "--sweep=loss.generator=hinge,non_saturating")
  assert again.returncode == 0 and again.stdout.splitlines() == open(tmp_path / "sweep.md").read().splitlines()


@pytest.mark.parametrize("sweep,message", [
    ("optimizer.nope=1,2", "unknown config field 'optimizer.nope'"),
    ("optimizer.d_lr=fast", "optimizer.d_lr='fast' is not a float"),
    ("loss.generator=hinge,wasserstein", "config.loss.generator: got 'wasserstein'"),
    ("", "--sweep is required")])
def test_a_bad_sweep_is_one_line_before_any_training(tmp_path, sweep, message):
  result = _sweep(tmp_path, tmp_path, f"--sweep={sweep}")
  assert result.returncode == 2, result.stderr
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
  assert not os.listdir(tmp_path)
