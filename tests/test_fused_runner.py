"""The fused runner: config.steps_per_call steps in one lax.scan give the state of single steps."""

import json

import jax
import pytest

from jaxgan.errors import ConfigError
from jaxgan.training import loop
from tests.state_compare import assert_same_state
from tests.test_runner import STEPS_PER_EPOCH, _smoke_config

# Training runs and command-line subprocesses: in CI, not in the edit loop (-m "not slow").
pytestmark = pytest.mark.slow

K = 5  # 12 steps an epoch: calls [10, 15) and [20, 25) cross epoch boundaries.
NUM_STEPS = 30


def _run(idx_dir, workdir, **overrides):
  config = _smoke_config(idx_dir, num_steps=NUM_STEPS, log_every_steps=7,
                         checkpoint_every_steps=10, ema_decay=0.99)
  config.update(overrides)
  return jax.device_get(loop.train_and_evaluate(config, str(workdir)))


def test_fused_calls_equal_single_steps_across_epochs_and_a_resume(tiny_idx_dir, tmp_path):
  assert STEPS_PER_EPOCH == 12
  single = _run(tiny_idx_dir, tmp_path / "single")
  fused = _run(tiny_idx_dir, tmp_path / "fused", steps_per_call=K)
  _run(tiny_idx_dir, tmp_path / "resumed", steps_per_call=K, num_steps=15)  # Stops mid-epoch.
  resumed = _run(tiny_idx_dir, tmp_path / "resumed", steps_per_call=K)
  for state in (fused, resumed):
    assert int(state.step) == NUM_STEPS
    assert_same_state(state, single, atol=1e-5)
  # Logs land on the first call boundary at or after each multiple of log_every_steps (7).
  with open(tmp_path / "fused" / "metrics.jsonl") as f:
    logged = [r["step"] for r in map(json.loads, f) if "g_loss" in r]
  assert logged == [10, 15, 25, 30]


def test_a_resume_off_a_call_boundary_takes_single_steps_up_to_it(tiny_idx_dir, tmp_path):
  single = _run(tiny_idx_dir, tmp_path / "single")
  _run(tiny_idx_dir, tmp_path / "run", num_steps=13)  # One step at a time, to step 13.
  resumed = _run(tiny_idx_dir, tmp_path / "run", steps_per_call=K)
  assert_same_state(resumed, single, atol=1e-5)


def test_steps_per_call_over_an_epoch_is_a_config_error(tiny_idx_dir, tmp_path):
  with pytest.raises(ConfigError, match=r"config.steps_per_call: got 13, more than the 12 steps"):
    _run(tiny_idx_dir, tmp_path, steps_per_call=13)
  assert not (tmp_path / "metrics.jsonl").exists()


def test_profile_steps_writes_a_trace_of_steps_after_warm_up(tiny_idx_dir, tmp_path, caplog):
  caplog.set_level("INFO", logger="jaxgan")
  _run(tiny_idx_dir, tmp_path, steps_per_call=K, profile_steps=6)
  traces = list((tmp_path / "profile").rglob("*.xplane.pb"))
  perfetto = list((tmp_path / "profile").rglob("perfetto_trace.json.gz"))
  assert len(traces) == 1 and traces[0].stat().st_size > 0
  assert len(perfetto) == 1 and perfetto[0].stat().st_size > 0
  # Warm-up is 10 steps: tracing starts at the call boundary 10, and stops at 20 (>= 10 + 6).
  assert [r.getMessage() for r in caplog.records if "profile" in r.getMessage()] == [
      f"profile of steps 11 to 20 written to {tmp_path / 'profile'}"]
