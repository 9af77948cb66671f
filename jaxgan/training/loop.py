"""The training loop: `train_and_evaluate(config, workdir)`, jitted steps followed by periodic actions."""

import contextlib
import logging
import os

import jax
import ml_collections
from tqdm.contrib.logging import logging_redirect_tqdm

from jaxgan import parallel
from jaxgan.config import validation
from jaxgan.core import gan, sampling, step_fns
from jaxgan.core.state import GANState
from jaxgan.data import batches as data_lib
from jaxgan.data import train_set
from jaxgan.errors import ConfigError, DataError
from jaxgan.run import checkpoint as checkpoint_lib
from jaxgan.run import metrics_log, resume
from jaxgan.run import workdir as workdir_lib
from jaxgan.training import actions, evaluations

log = logging.getLogger(__name__)


def _restore_or_init(config, workdir: str, data: train_set.TrainingData, mesh):
  """(state, spec, checkpoints, run_info): the latest checkpoint that restores, else a new state."""
  run_info = dict(image_shape=list(data.image_shape), num_classes=data.num_classes)
  if data.label_prior is not None:
    run_info["label_prior"] = list(data.label_prior)
  state, spec = gan.init_state_compiled(config, data.image_shape, data.num_classes,
                                        parallel.replicated(mesh), label_prior=data.label_prior)
  ckpts = checkpoint_lib.Checkpoints(os.path.join(workdir, workdir_lib.LATEST_DIR),
                                     keep=config.keep_checkpoints)
  if ckpts.all_steps():
    state = ckpts.restore(state, set_aside_broken=True)
  if parallel.is_main_process():
    workdir_lib.write_config(workdir, config)
  return state, spec, ckpts, run_info


def _report_start(config, workdir: str, ckpts, start_step: int, total_steps: int) -> bool:
  """Logs a resume (process 0); whether the run has already finished (`resume.finished`)."""
  done = resume.finished(config, workdir, start_step, total_steps)
  if parallel.is_main_process() and done:
    log.info("%s already finished at step %d (of %d); raise config.num_steps or num_epochs to "
             "train further", workdir, start_step, total_steps)
  elif parallel.is_main_process() and start_step:
    log.info("resuming from step %d of %s", start_step, ckpts.directory)
  return done


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> GANState:
  """Trains the GAN of `config` in `workdir`, resuming from its latest checkpoint; returns the state.

  Writes config.json, metrics.jsonl, tensorboard/, checkpoints/, samples/ (a grid per epoch and
  progress.gif), loss_curves.png and, with evaluation on, checkpoints_best/ and eval.json (see
  `jaxgan.training.actions` for each and its schedule). In a multi-process run every process calls this, and
  only process 0 writes logs and pictures. A broken latest checkpoint is skipped with a warning;
  SIGTERM saves the current step and returns early.

  Raises:
    ConfigError: a config field or the workdir is invalid, or another training run uses the
      workdir (before any work starts).
    DataError, CheckpointError: the data or a checkpoint cannot be used, or a save failed.
    JaxganError: config.max_nonfinite_steps non-finite steps in a row (their updates skipped).
  """
  validation.validate(config)
  created = not os.path.exists(workdir)
  workdir = workdir_lib.prepare(workdir)
  lock = _lock(workdir)
  try:
    resume.check(config, workdir)
    return _train(config, workdir, lock)
  finally:
    lock.release()
    if created:  # A run that failed before writing anything leaves no empty workdir behind.
      with contextlib.suppress(OSError):
        os.rmdir(workdir)


def _lock(workdir: str) -> workdir_lib.RunLock:
  """The workdir's lock, taken by process 0 for the whole run; every process fails if it is taken."""
  lock, error = workdir_lib.RunLock(workdir), None
  if parallel.is_main_process():
    try:
      lock.acquire()
    except ConfigError as e:
      error = e
  if jax.process_count() > 1 and parallel.any_process(error is not None) and error is None:
    error = ConfigError(f"--workdir={workdir} is in use by another training run (see process 0)")
  if error is not None:
    raise error
  return lock


def _schedule(config, num_examples: int) -> tuple[int, int, int]:
  """(steps_per_epoch, total_steps, steps per call) of `config` on `num_examples` examples."""
  steps_per_epoch = data_lib.steps_per_epoch(num_examples, config.batch_size)
  if steps_per_epoch == 0:
    raise ConfigError(f"config.batch_size: got {config.batch_size}, more than the {num_examples} "
                      "training examples")
  total_steps = config.num_steps or config.num_epochs * steps_per_epoch
  k = config.steps_per_call or step_fns.default_steps_per_call(steps_per_epoch)
  if k > steps_per_epoch:
    raise ConfigError(f"config.steps_per_call: got {k}, more than the {steps_per_epoch} steps of an "
                      "epoch")
  return steps_per_epoch, total_steps, k


def _train(config, workdir: str, lock: workdir_lib.RunLock) -> GANState:
  """train_and_evaluate in a prepared, locked workdir."""
  data = train_set.load(config)
  steps_per_epoch, total_steps, k = _schedule(config, data.num_examples)
  mesh = parallel.make_mesh()
  parallel.check_batch_size(config.batch_size, mesh)
  state, spec, ckpts, run_info = _restore_or_init(config, workdir, data, mesh)
  start_step = int(jax.device_get(state.step))
  if _report_start(config, workdir, ckpts, start_step, total_steps):
    return state
  sample = sampling.Sampler(spec, config.sampling, config.seed)
  with contextlib.ExitStack() as stack:
    stack.enter_context(logging_redirect_tqdm(loggers=[logging.getLogger("jaxgan")]))

    # Built first: installs the SIGTERM and Ctrl-C handlers.
    checkpoints = actions.SaveCheckpoints(config, ckpts, start_step, total_steps, run_info, lock)
    stack.callback(checkpoints.close)
    # Checks eval_num before anything is written.
    evaluation = evaluations.TrainingEvaluation(
        config, workdir, sample, spec.label_classes)
    stack.callback(evaluation.close)
    run_log = metrics_log.RunLog(workdir, start_step)
    stack.callback(run_log.close)
    periodic = [
        actions.CheckFinite(config, state),
        actions.ReportProgress(config, run_log, start_step, total_steps, steps_per_epoch,
                                sampling.Sampler(spec, "running", config.seed).grid,
                                os.path.join(workdir, "loss_curves.png")),
        actions.SaveGrids(workdir, start_step, total_steps, steps_per_epoch, sample.grid, state),
        checkpoints,
        actions.Evaluate(evaluation, start_step, total_steps, run_info, run_log),
        actions.Profile(config, workdir, start_step, total_steps)]
    for action in periodic:
      if action is not checkpoints:
        stack.callback(action.close)
    step_fn = step_fns.make_step_fn(data, spec, mesh, config, state, start_step, total_steps)
    step = start_step
    while step < total_steps:
      calls = 1 if step % k or total_steps - step < k else k  # Single steps up to a call boundary.
      try:
        state, metrics = step_fn(state, step, calls)
      except DataError:  # A streamed file that fails to decode: the steps so far are kept.
        checkpoints.save_now(step, state)
        raise
      step += calls
      for action in periodic:
        if action(step, state, metrics):  # A stop: the step is saved.
          return state
    for action in periodic:
      action.finish(state)
  return state
