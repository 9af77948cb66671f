"""Samples images from a trained run's checkpoint.

  python -m experiments.generate --workdir=DIR --num=N --output=FILE [--seed=S] [--step=K | --best]
      [--label=K] [--interpolate]
  python -m experiments.generate --pretrained=mnist_cgan --label=7 --output=sevens.png

--pretrained=NAME samples a generator shipped with the package (jaxgan.run.pretrained) instead of a run.

FILE ending in .npy gets an N x H x W uint8 array (N x H x W x C for colour), .png a grid. The same
seed and checkpoint give the same bytes. A class-conditional run draws only class K with --label=K
(without it, the labels cycle through the classes, and a .png grid has a column per class).

--interpolate draws a latent walk instead: N frames along the great circle (spherical
interpolation) between two random latents, written as an animated GIF and a PNG strip (both 4x
enlarged), FILE with the suffixes .gif and .png (FILE itself must end in one of them).
"""

import math
import os

import jax
import numpy as np
from absl import flags

from jaxgan.cli import entry
from jaxgan.core import sampling
from jaxgan.errors import ConfigError
from jaxgan.run import pretrained, restore, visualize

_WALK_SCALE = 4  # A latent walk's GIF and PNG strip are enlarged this many times.
_WORKDIR = flags.DEFINE_string("workdir", None, "The training run's directory.")
_PRETRAINED = flags.DEFINE_enum("pretrained", None, list(pretrained.NAMES),
                                "A generator shipped with the package, instead of --workdir.")
_NUM = flags.DEFINE_integer("num", 64, "Number of images (frames with --interpolate).")
_OUTPUT = flags.DEFINE_string("output", None,
                              "Output file, .npy or .png; .gif or .png with --interpolate.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the noise.")
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step (default: the latest).")
_SAMPLING = flags.DEFINE_enum("sampling", None, list(sampling.SAMPLING_MODES),
                               "BatchNorm statistics to sample with (default: the run's config).")
_BEST = flags.DEFINE_boolean("best", False, "Use the best checkpoint by FCD (checkpoints_best/).")
_LABEL = flags.DEFINE_integer("label", None, "Class to draw (class-conditional runs only).")
_TRUNCATION = flags.DEFINE_float("truncation", 0.0, "Truncation trick: latents resampled into "
                                 "[-PSI, PSI] (0: off; lower trades diversity for fidelity).")
_INTERPOLATE = flags.DEFINE_boolean(
    "interpolate", False, "Write a latent walk (spherical interpolation) as a GIF and a PNG strip.")


def main():
  if bool(_WORKDIR.value) == bool(_PRETRAINED.value):
    raise ConfigError("give either --workdir (the directory of a training run) or --pretrained="
                      + "|".join(pretrained.NAMES))
  suffixes = (".gif", ".png") if _INTERPOLATE.value else (".npy", ".png")
  if not _OUTPUT.value or os.path.splitext(_OUTPUT.value)[1] not in suffixes:
    raise ConfigError(f"--output: got {_OUTPUT.value!r}, expected a file name ending in "
                      f"{' or '.join(suffixes)}" + (" with --interpolate" if _INTERPOLATE.value else ""))
  if _NUM.value < 1:
    raise ConfigError(f"--num: got {_NUM.value}, expected an integer >= 1")
  sampling.check_truncation(_TRUNCATION.value)
  if _BEST.value and _STEP.value is not None:
    raise ConfigError("--best and --step exclude each other")
  if _PRETRAINED.value:
    if _STEP.value is not None or _BEST.value or _SAMPLING.value:
      raise ConfigError("--step, --best and --sampling apply to --workdir runs, not --pretrained")
    config, state, spec = pretrained.load(_PRETRAINED.value)
  else:
    config, state, spec = restore.restore_run(_WORKDIR.value, _STEP.value, best=_BEST.value)
    config.sampling = _SAMPLING.value or config.sampling
  key = jax.random.PRNGKey(_SEED.value)
  try:
    _write(config, spec, state, key)
  except OSError as e:
    raise ConfigError(f"--output={_OUTPUT.value}: cannot write there: {e.strerror or e}") from e


def _write(config, spec, state, key):
  """Writes the images (or the walk) to --output, creating its folder."""
  os.makedirs(os.path.dirname(os.path.abspath(_OUTPUT.value)), exist_ok=True)
  if _INTERPOLATE.value:
    _write_walk(spec, state, key, config)
    return
  inputs = sampling.asked_inputs(spec, key, _NUM.value, _LABEL.value, _TRUNCATION.value)
  images_NxHxWxC = sampling.generate(spec, state, *inputs, mode=config.sampling, seed=config.seed)
  if _OUTPUT.value.endswith(".npy"):
    images = images_NxHxWxC[..., 0] if images_NxHxWxC.shape[-1] == 1 else images_NxHxWxC
    np.save(_OUTPUT.value, images)
  else:
    columns = (sampling.grid_columns(spec) if spec.class_conditional and _LABEL.value is None
               else math.ceil(math.sqrt(_NUM.value)))  # A class a column, or a square.
    visualize.save_grid(images_NxHxWxC, _OUTPUT.value, ncols=columns)
  print(f"wrote {len(images_NxHxWxC)} images to {_OUTPUT.value}")


def _write_walk(spec, state, key, config):
  images_TxHxWxC = sampling.generate(
      spec, state, *sampling.walk_inputs(spec, key, _NUM.value, _LABEL.value), mode=config.sampling,
      seed=config.seed)
  stem = os.path.splitext(_OUTPUT.value)[0]
  visualize.save_animation(images_TxHxWxC, stem + ".gif", scale=_WALK_SCALE)
  visualize.save_grid(images_TxHxWxC, stem + ".png", ncols=len(images_TxHxWxC), scale=_WALK_SCALE)
  print(f"wrote a {len(images_TxHxWxC)}-frame latent walk to {stem}.gif and {stem}.png")


if __name__ == "__main__":
  entry.run(main)
