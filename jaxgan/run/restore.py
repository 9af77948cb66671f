"""Rebuilding a training run from its workdir: its config.json and a checkpoint, for `generate`,
`evaluate` and the pretrained weights."""

import os
import time

import jax
import ml_collections

from jaxgan.config import validation
from jaxgan.core import gan
from jaxgan.core.state import GANState
from jaxgan.errors import CheckpointError
from jaxgan.run import workdir as workdir_lib
from jaxgan.run.checkpoint import OPEN_ATTEMPTS, Checkpoints

RETRY_SECONDS = 0.5  # Wait before reading again the latest step of a run that is training.
OVERTAKEN_SECONDS = 60.0  # How long a read may keep being overtaken by a run's newer saves.


def _abstract_target(config: ml_collections.ConfigDict, info: dict
                     ) -> tuple[GANState, gan.GANSpec]:
  """The abstract state (on device 0) and the spec that a checkpoint with `info` restores into."""
  prior = info.get("label_prior")
  target, spec = gan.init_state_compiled(config, info["image_shape"], info["num_classes"],
                                         abstract=True,
                                         label_prior=None if prior is None else tuple(prior))
  device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device),
                      target), spec


def restore_run(workdir: str, step: int | None = None, *, best: bool = False
                ) -> tuple[ml_collections.ConfigDict, GANState, gan.GANSpec]:
  """(config, state, spec) of a training run: its config.json and checkpoint `step` (None: latest).

  `best`: from the best checkpoint by FCD (checkpoints_best/) instead of the latest ones.
  """
  config = workdir_lib.load_config(workdir)
  validation.validate(config)
  directory = os.path.join(workdir, workdir_lib.BEST_DIR if best else workdir_lib.LATEST_DIR)
  if not os.path.isdir(directory):
    raise CheckpointError(f"no checkpoint folder {directory}" + (
        "; the best checkpoint is kept only when config.eval_every_steps > 0" if best else ""))
  target = spec = None
  retries = 0  # Of an unreadable latest step that no newer step has replaced.
  deadline = time.monotonic() + OVERTAKEN_SECONDS
  while True:
    with Checkpoints(directory, create=False) as ckpts:
      resolved = ckpts.resolve_step(step)
      try:
        if target is None:  # Built once: a retry then only reads, racing the run's saves less.
          target, spec = _abstract_target(config, ckpts.run_info(resolved))
        return config, ckpts.restore(target, resolved), spec
      except CheckpointError:
        if step is not None:
          raise
        # A run training in this workdir saves new steps and removes its old ones: the latest one
        # can be overtaken, and be half-deleted or gone, while it is read. Then the new latest is
        # read instead, for as long as the run keeps overtaking the reads. While a run holds the
        # workdir, an unreadable latest step is read again after a moment (a CI run once met the
        # latest step present but missing one of its files).
        overtaken = any(name.isdigit() and int(name) > resolved for name in os.listdir(directory))
        vanished = not os.path.isdir(os.path.join(directory, str(resolved)))
        training = os.path.exists(os.path.join(workdir, workdir_lib.LOCK_FILE))
        if overtaken or vanished:
          if time.monotonic() > deadline:
            raise
        elif training and retries < OPEN_ATTEMPTS - 1:
          retries += 1
          time.sleep(RETRY_SECONDS)
        else:
          raise
