"""experiments.sweep: a grid of variants trained as separate runs, one table of their evaluations."""

import csv
import json
import os
import sys

import pytest

from tests import processes
from tests.conftest import REPO_ROOT

# Training runs and command-line subprocesses: in CI, not in the edit loop (-m "not slow").
pytestmark = pytest.mark.slow


def _sweep(workdir, idx_dir, *extra):
  return processes.run(
      [sys.executable, "-m", "experiments.sweep", "--config=experiments/configs/smoke.py",
       f"--workdir={workdir}", "--config.data.source=idx", f"--config.data.idx_dir={idx_dir}",
       "--config.num_steps=20", "--config.eval_final_num=200", *extra],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


def test_sweep_trains_two_variants_and_writes_their_table(tiny_idx_dir, tmp_path):
  result = _sweep(tmp_path, tiny_idx_dir, "--sweep=loss.generator=hinge,non_saturating")
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
  again = _sweep(tmp_path, tiny_idx_dir, "--sweep=loss.generator=hinge,non_saturating")
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


def test_the_base_config_is_passed_on_in_any_form_and_keys_each_row(tiny_idx_dir, tmp_path):
  """`--config FILE` and `--config.FIELD VALUE` reach the variants; a rerun reuses a row only for
  the same resolved config, trains a changed schedule further, and refuses other changes."""
  def sweep(*extra):
    return processes.run(
        [sys.executable, "-m", "experiments.sweep", "--config", "experiments/configs/smoke.py",
         f"--workdir={tmp_path}", "--config.data.source", "idx", "--config.data.idx_dir",
         tiny_idx_dir, "--config.eval_final_num=100", "--sweep=loss.generator=hinge", *extra],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)

  variant = tmp_path / "generator=hinge"
  first = sweep("--config.num_steps", "10")
  assert first.returncode == 0, first.stderr[-2000:]
  with open(variant / "config.json") as f:
    trained = json.load(f)
  assert (trained["batch_size"], trained["num_steps"], trained["loss"]["generator"]) == (16, 10, "hinge")
  started, done = first.stderr.splitlines()  # Progress: one line as it starts, one as it ends.
  assert started == f"[1/1] generator=hinge: training, log in {variant}/train.log"
  assert done.startswith("[1/1] generator=hinge: done in ") and " FCD " in done

  reused = sweep("--config.num_steps=10")
  assert reused.returncode == 0 and reused.stderr.splitlines() == [
      "[1/1] generator=hinge: finished earlier with this config; its row is reused"]
  refused = sweep("--config.num_steps=10", "--config.optimizer.g_lr=0.001")
  assert refused.returncode == 2 and refused.stderr.splitlines() == [
      f"error: --workdir={variant} holds variant generator=hinge trained to step 10 with other "
      "values: optimizer.g_lr 0.0003 -> 0.001; use another --workdir"]
  longer = sweep("--config.num_steps=12")
  assert longer.returncode == 0, longer.stderr[-2000:]
  with open(variant / "eval.json") as f:
    assert json.load(f)["step"] == 12
  with open(tmp_path / "sweep.csv") as f:
    assert float(next(csv.DictReader(f))["fcd"]) == pytest.approx(json.load(open(variant / "eval.json"))["fcd"])


def test_parallel_variants_run_at_once_and_a_failed_one_is_a_row_and_exit_1(tiny_idx_dir, tmp_path):
  result = _sweep(tmp_path, tiny_idx_dir, "--parallel=2", "--config.max_nonfinite_steps=3",
                  "--sweep=optimizer.d_lr=0.0003,1e30")
  assert result.returncode == 1, result.stderr[-2000:]
  progress = result.stderr.strip().splitlines()
  started = [i for i, line in enumerate(progress) if ": training, log in " in line]
  ended = [i for i, line in enumerate(progress) if ": done in " in line or ": failed (" in line]
  assert len(started) == len(ended) == 2 and max(started) < min(ended), progress  # Both at once.
  with open(tmp_path / "sweep.csv") as f:
    ok, diverged = list(csv.DictReader(f))
  assert float(ok["fcd"]) > 0 and not ok["error"]
  assert diverged["error"].startswith("exit 1, see ") and not diverged["fcd"]
  assert progress[-1] == f"error: 1 variant(s) failed: {diverged['variant']}; see their train.log"
  assert "training diverged" in (tmp_path / diverged["variant"] / "train.log").read_text()
