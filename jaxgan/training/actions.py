"""The periodic actions of the training loop. Each owns its schedule and its process-0 guard.

Every action is an `Action`: the loop calls it after each call of the train step with (step, state,
metrics), where `step` counts the steps done and `metrics` are the last call's (stacked along a
leading axis when a call fuses several steps), and stops the run when it returns True; `finish(state)`
runs once after the last step, and `close()` always. They report through one `metrics_log.RunLog`.
A schedule "every N steps" is due at the first call boundary at or after each multiple of N. In a
multi-process run every process calls every action: all take part in sampling and checkpointing
(one SPMD program), and only process 0 writes files and prints.
"""

import logging
import os
import signal
import time

import jax
import numpy as np
import tqdm

from jaxgan import parallel
from jaxgan.core import sampling
from jaxgan.core.state import GANState
from jaxgan.errors import Interrupted
from jaxgan.evaluation import run_eval
from jaxgan.run import checkpoint as checkpoint_lib
from jaxgan.run import visualize
from jaxgan.run import workdir as workdir_lib
from jaxgan.run.metrics_log import RunLog
from jaxgan.training import failpoints, health, stop_signals

log = logging.getLogger(__name__)


class Every:
  """Due when a multiple of `period` was reached since the previous call, and at `total_steps`.

  With one step per call that is `step % period == 0`; with fused calls, the call boundary at or
  after each multiple.
  """

  def __init__(self, period: int, start_step: int, total_steps: int):
    self.period, self.last, self.total_steps = period, start_step, total_steps

  def __call__(self, step: int) -> bool:
    due = step // self.period > self.last // self.period or step == self.total_steps
    self.last = step
    return due


def last_step_metrics(metrics) -> dict[str, float]:
  """Host floats of the last step's metrics (of a fused call's stacked ones)."""
  return {k: float(np.asarray(v).reshape(-1)[-1]) for k, v in jax.device_get(metrics).items()}


class Action:
  """A periodic action of the training loop; this base does nothing."""

  def __call__(self, step: int, state: GANState, metrics) -> bool:
    """After a train call: does what is due at `step`; True stops the run (its step is saved)."""
    del step, state, metrics
    return False

  def finish(self, state: GANState) -> None:
    """After the last step."""
    del state

  def close(self) -> None:
    """Always, last: releases what the action holds."""


class ReportProgress(Action):
  """Every `log_every_steps` steps: a metrics record (logs, TensorBoard, the progress bar and one line
  on stdout) and the health warnings; at every epoch end, its duration. `paused()` excludes time
  spent outside training (evaluation) from the throughput. `sample_grid` feeds the health check's
  diversity test, which needs no standing statistics ("running" mode is cheapest)."""

  def __init__(self, config, run_log: RunLog, start_step: int, total_steps: int,
               steps_per_epoch: int, sample_grid, loss_curves_path: str):
    self.log, self.main = run_log, run_log.main
    self.due = Every(config.log_every_steps, start_step, total_steps)
    self.epoch_end = Every(steps_per_epoch, start_step, total_steps + 1)  # Not at the last step.
    self.total_steps, self.steps_per_epoch, self.batch_size = (total_steps, steps_per_epoch,
                                                               config.batch_size)
    self.sample_grid, self.loss_curves_path = sample_grid, loss_curves_path
    self.monitor = health.HealthMonitor(config.health)
    self.bar = tqdm.tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True,
                         disable=not self.main)
    self.last_step, self.last_time = start_step, run_log.clock()
    self.epoch_time = self.last_time

  def __call__(self, step: int, state: GANState, metrics) -> bool:
    self.bar.update(step - self.bar.n)
    if self.due(step):
      samples = self.sample_grid(state)
      now = self.log.clock()
      record = dict(step=step, epoch=step / self.steps_per_epoch, **last_step_metrics(metrics),
                    images_per_sec=(step - self.last_step) * self.batch_size / (now - self.last_time))
      self.last_step, self.last_time = step, now
      self.bar.set_postfix(g_loss=f"{record['g_loss']:.4f}", d_loss=f"{record['d_loss']:.4f}")
      self.log.write(record, f"step {step}/{self.total_steps}: g_loss {record['g_loss']:.4f}, "
                     f"d_loss {record['d_loss']:.4f}, real_loss {record['real_loss']:.4f}, "
                     f"fake_loss {record['fake_loss']:.4f}, {record['images_per_sec']:.0f} images/s")
      if self.main:
        for warning in self.monitor.update(step, record, samples):
          log.warning("%s", warning)
    if self.epoch_end(step):
      now = self.log.clock()
      self.log.write(dict(step=step, epoch_seconds=now - self.epoch_time),
                     f"epoch {step // self.steps_per_epoch} done in {now - self.epoch_time:.1f} s")
      self.epoch_time = now
    return False

  def finish(self, state: GANState) -> None:
    if self.main:
      visualize.plot_losses(self.log.metrics_log.records, self.loss_curves_path)

  def close(self) -> None:
    self.bar.close()


class SaveGrids(Action):
  """A grid of samples from fixed noise (`sampling.Sampler.grid`: 8x8, or a column per class) at step
  0, after every epoch and at the end, as samples/step_XXXXXXX.png; at the end, all of them as
  samples/progress.gif."""

  def __init__(self, workdir: str, start_step: int, total_steps: int, steps_per_epoch: int,
               sample_grid, state: GANState):
    self.dir = os.path.join(workdir, "samples")
    os.makedirs(self.dir, exist_ok=True)
    self.due = Every(steps_per_epoch, start_step, total_steps)
    self.sample_grid = sample_grid
    if start_step == 0:
      self._save(0, state)

  def _save(self, step: int, state: GANState) -> None:
    images = self.sample_grid(state)
    if parallel.is_main_process():
      visualize.save_grid(images, os.path.join(self.dir, f"step_{step:07d}.png"),
                          ncols=len(images) // sampling.GRID_ROWS)

  def __call__(self, step: int, state: GANState, metrics) -> bool:
    if self.due(step):
      self._save(step, state)
    return False

  def finish(self, state: GANState) -> None:
    if parallel.is_main_process():
      frames = sorted(os.path.join(self.dir, name) for name in os.listdir(self.dir)
                      if name.startswith("step_") and name.endswith(".png"))
      if frames:
        visualize.save_gif(frames, os.path.join(self.dir, "progress.gif"))


class SaveCheckpoints(Action):
  """A checkpoint every `checkpoint_every_steps` steps and at the end; on SIGTERM or Ctrl-C (single
  process, `stop_signals`) or an agreed preemption (multi-process, JAX's preemption service), one of
  the current step, after which it stops the run (Ctrl-C raises `Interrupted` instead)."""

  def __init__(self, config, ckpts: checkpoint_lib.Checkpoints, start_step: int, total_steps: int,
               run_info: dict, lock: workdir_lib.RunLock):
    self.ckpts, self.run_info = ckpts, run_info
    self.due = Every(config.checkpoint_every_steps, start_step, total_steps)
    self.signals = stop_signals.StopSignals(ckpts.directory, lock)

  def __call__(self, step: int, state: GANState, metrics) -> bool:
    failpoints.maybe_stop("step", step)
    if self.due(step):
      self.ckpts.save(state, step, self.run_info)
      failpoints.maybe_stop("save", step)
    if self.signals.received is not None or self.ckpts.reached_preemption(step):
      if self.ckpts.latest_step() != step:
        self.ckpts.save(state, step, self.run_info)
      failpoints.maybe_stop("stop_save")
      self.ckpts.wait()
      if self.signals.received == signal.SIGINT:
        raise Interrupted(self.signals.stop_message(step))
      log.info("%s", self.signals.stop_message(step))
      return True
    return False

  def save_now(self, step: int, state: GANState) -> None:
    """Saves `step` unless it is saved already, before a single-process run stops on an input error
    (a multi-process save needs every process, and the others are not stopping)."""
    if jax.process_count() == 1 and self.ckpts.latest_step() != step:
      self.ckpts.save(state, step, self.run_info)
      self.ckpts.wait()

  def finish(self, state: GANState) -> None:
    self.signals.restore(signal.SIGINT)  # Ctrl-C during the final evaluation: KeyboardInterrupt.
    self.ckpts.wait()

  def close(self) -> None:
    self.signals.restore()
    self.ckpts.close()


class Evaluate(Action):
  """A run's `evaluations.TrainingEvaluation` on its schedule, out of the training clock, its
  metrics in the run log; the final full evaluation in `finish`."""

  def __init__(self, evaluation, start_step: int, total_steps: int,
               run_info: dict, run_log: RunLog):
    self.evaluation = evaluation
    self.total_steps, self.run_info, self.log = total_steps, run_info, run_log
    self.due = Every(evaluation.every, start_step, total_steps) if evaluation.best else None
    self.started = time.perf_counter()

  def __call__(self, step: int, state: GANState, metrics) -> bool:
    if self.due is None or not self.due(step):
      return False
    start = time.perf_counter()
    with self.log.paused():
      metrics, is_best = self.evaluation.periodic(state, step, self.run_info)
    # eval/minutes: the wall-clock minutes of this process's training so far, evaluations included
    # (the time-to-quality curve).
    self.log.write(
        dict(step=step, **{f"eval/{k}": v for k, v in metrics.items()},
             **{"eval/seconds": time.perf_counter() - start,
                "eval/minutes": (time.perf_counter() - self.started) / 60.0}),
        f"eval at step {step}, {run_eval.summary(metrics)}" + (" (best so far)" if is_best else ""))
    return False

  def finish(self, state: GANState) -> None:
    metrics = self.evaluation.final(state, self.total_steps, write=parallel.is_main_process())
    if metrics is not None:
      self.log.write(dict(step=self.total_steps, **{f"eval_final/{k}": v for k, v in metrics.items()}),
                     f"final eval at step {self.total_steps}, {run_eval.summary(metrics)}")


class CheckFinite(Action):
  """Stops a diverged run (`health.NonfiniteStreak`). Each step reads the previous step's flag, so
  reading it leaves the current step queued on the device."""

  def __init__(self, config, state: GANState):
    self.streak = health.NonfiniteStreak(int(jax.device_get(state.nonfinite_count)),
                                         config.max_nonfinite_steps)
    self.previous = None

  def _check_previous(self) -> None:
    if self.previous is not None:
      step, metrics = self.previous
      self.streak.update(step, jax.device_get(metrics["nonfinite"]), metrics)

  def __call__(self, step: int, state: GANState, metrics) -> bool:
    self._check_previous()
    self.previous = (step, metrics)
    return False

  def finish(self, state: GANState) -> None:
    self._check_previous()


class Profile(Action):
  """With `config.profile_steps` = N > 0: a `jax.profiler` trace of at least N steps, from the first
  call boundary at least WARMUP_STEPS after the run's (re)start (compilation done), written by process
  0 to WORKDIR/profile/ for TensorBoard's profile plugin and, as perfetto_trace.json.gz, for Perfetto."""

  WARMUP_STEPS = 10

  def __init__(self, config, workdir: str, start_step: int, total_steps: int):
    self.num = config.profile_steps if parallel.is_main_process() else 0
    self.directory = os.path.join(workdir, "profile")
    self.start_after, self.total_steps = start_step + self.WARMUP_STEPS, total_steps
    self.first, self.tracing = None, False

  def __call__(self, step: int, state: GANState, metrics) -> bool:
    if not self.num:
      return False
    if self.first is None and self.start_after <= step < self.total_steps:
      jax.block_until_ready(state)
      jax.profiler.start_trace(self.directory, create_perfetto_trace=True)
      self.first, self.tracing = step, True
    elif self.tracing and (step >= self.first + self.num or step == self.total_steps):
      jax.block_until_ready(state)
      self._stop()
      log.info("profile of steps %d to %d written to %s", self.first + 1, step, self.directory)
    return False

  def _stop(self) -> None:
    if self.tracing:
      self.tracing = False
      jax.profiler.stop_trace()

  def finish(self, state: GANState) -> None:
    self._stop()

  def close(self) -> None:
    self._stop()


