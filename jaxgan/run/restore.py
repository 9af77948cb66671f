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
  for attempt in range(OPEN_ATTEMPTS):
    with Checkpoints(directory, create=False) as ckpts:
      resolved = ckpts.resolve_step(step)
      try:
        info = ckpts.run_info(resolved)
        prior = info.get("label_prior")
        target, spec = gan.init_state_compiled(config, info["image_shape"], info["num_classes"],
                                               abstract=True,
                                               label_prior=None if prior is None else tuple(prior))
        device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
        target = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device),
                              target)
        return config, ckpts.restore(target, resolved), spec
      except CheckpointError:
        # A run training in this workdir saves new steps and removes its old ones: the latest one
        # can be overtaken, and be half-deleted or gone, while it is read. Then the new latest is
        # read instead. While a run holds the workdir, an unreadable latest step is read again
        # after a moment (a CI run once met the latest step present but missing one of its files).
        overtaken = any(name.isdigit() and int(name) > resolved for name in os.listdir(directory))
        vanished = not os.path.isdir(os.path.join(directory, str(resolved)))
        training = os.path.exists(os.path.join(workdir, workdir_lib.LOCK_FILE))
        if (step is not None or not (overtaken or vanished or training)
            or attempt == OPEN_ATTEMPTS - 1):
          raise
        if not (overtaken or vanished):
          time.sleep(RETRY_SECONDS)
