"""The time-to-quality plot and table from runs' evaluation records."""

import json
import sys

from PIL import Image

from tests import processes
from tests.conftest import REPO_ROOT


def _write_run(path, points):
  path.mkdir()
  records = [dict(step=10, g_loss=1.0)] + [
      {"step": step, "eval/minutes": minutes, "eval/fcd_ratio": ratio} for step, minutes, ratio in points]
  (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_the_table_lists_every_evaluation_with_its_minutes(tmp_path):
  _write_run(tmp_path / "a", [(100, 0.5, 40.0), (200, 1.25, 12.0)])
  _write_run(tmp_path / "b", [(300, 2.0, 3.5)])
  output = tmp_path / "ttq.png"
  result = processes.run(
      [sys.executable, "-m", "experiments.time_to_quality",
       f"--runs=fast={tmp_path / 'a'},slow={tmp_path / 'b'}", f"--output={output}"],
      cwd=REPO_ROOT, capture_output=True, text=True, check=False)
  assert result.returncode == 0, result.stderr
  assert "| fast | 200 | 1.2 | 12.0x |" in result.stdout
  assert "| slow | 300 | 2.0 | 3.5x |" in result.stdout
  assert Image.open(output).size[0] > 100


def test_a_run_without_timed_evaluations_is_one_line(tmp_path):
  _write_run(tmp_path / "a", [])
  result = processes.run(
      [sys.executable, "-m", "experiments.time_to_quality", f"--runs=a={tmp_path / 'a'}",
       f"--output={tmp_path / 'x.png'}"], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
  assert result.returncode == 2
  assert result.stderr.strip().count("\n") == 0 and "no evaluation during training" in result.stderr
