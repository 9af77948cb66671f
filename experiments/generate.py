"""Samples images from a trained run's checkpoint.

  python -m experiments.generate --workdir=DIR --num=N --output=FILE [--seed=S] [--step=K | --best]

FILE ending in .npy gets an N x H x W uint8 array (N x H x W x C for colour), .png a grid. The same
seed and checkpoint give the same bytes.
"""

import math
import os

import jax
import numpy as np
from absl import flags

from experiments import cli
from jaxgan import train, visualize
from jaxgan.errors import ConfigError

_WORKDIR = flags.DEFINE_string("workdir", None, "The training run's directory.")
_NUM = flags.DEFINE_integer("num", 64, "Number of images.")
_OUTPUT = flags.DEFINE_string("output", None, "Output file, .npy or .png.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the noise.")
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step (default: the latest).")
_BEST = flags.DEFINE_boolean("best", False, "Use the best checkpoint by FCD (checkpoints_best/).")


def main():
  if not _WORKDIR.value:
    raise ConfigError("--workdir is required: the directory of a training run")
  if not _OUTPUT.value or os.path.splitext(_OUTPUT.value)[1] not in (".npy", ".png"):
    raise ConfigError(f"--output: got {_OUTPUT.value!r}, expected a file name ending in .npy or .png")
  if _NUM.value < 1:
    raise ConfigError(f"--num: got {_NUM.value}, expected an integer >= 1")
  if _BEST.value and _STEP.value is not None:
    raise ConfigError("--best and --step exclude each other")
  _, state, spec = train.restore_run(_WORKDIR.value, _STEP.value, best=_BEST.value)
  images_NxHxWxC = train.sample_images(spec, state, jax.random.PRNGKey(_SEED.value), _NUM.value)
  if _OUTPUT.value.endswith(".npy"):
    images = images_NxHxWxC[..., 0] if images_NxHxWxC.shape[-1] == 1 else images_NxHxWxC
    np.save(_OUTPUT.value, images)
  else:
    visualize.save_grid(images_NxHxWxC, _OUTPUT.value, ncols=math.ceil(math.sqrt(_NUM.value)))
  print(f"wrote {len(images_NxHxWxC)} images to {_OUTPUT.value}")


if __name__ == "__main__":
  cli.run(main)
