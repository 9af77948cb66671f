"""The functions `import jaxgan` offers: configs, training, sampling and evaluation of runs, and the
pretrained generators."""

import importlib
import os

import jax
import ml_collections
import numpy as np

from jaxgan.config import presets, validation
from jaxgan.core import sampling
from jaxgan.errors import ConfigError
from jaxgan.evaluation import run_eval
from jaxgan.run import pretrained, restore
from jaxgan.training.loop import train_and_evaluate  # noqa: F401  (re-exported)

PRESETS = tuple(sorted(name[:-3] for name in os.listdir(presets.DIR)
                      if name.endswith(".py") and name != "__init__.py"))


def preset(name: str) -> ml_collections.ConfigDict:
  """The shipped config `name` (jaxgan/config/presets/NAME.py), unlocked for changes."""
  if name not in PRESETS:
    raise ConfigError(f"preset: got {name!r}, expected one of {', '.join(PRESETS)}")
  return importlib.import_module(f"jaxgan.config.presets.{name}").get_config()


def generate(workdir: str | None = None, num: int = 64, *, pretrained_name: str | None = None,
             seed: int = 0, label: int | None = None, truncation: float = 0.0,
             best: bool = False) -> np.ndarray:
  """`num` uint8 images_NxHxWxC of a run's latest (or `best`) checkpoint, or of the pretrained
  generator `pretrained_name`: class `label` of a class-conditional one, else its sampling labels;
  `truncation` > 0 draws the latents with the truncation trick."""
  if (workdir is None) == (pretrained_name is None):
    raise ConfigError("give either a workdir or a pretrained_name")
  if pretrained_name is not None:
    return pretrained.sample(pretrained_name, num, seed=seed, label=label, truncation=truncation)
  config, state, spec = restore.restore_run(workdir, best=best)
  key = jax.random.PRNGKey(seed)
  inputs = sampling.asked_inputs(spec, key, num, label, truncation)
  return sampling.generate(spec, state, *inputs, mode=config.sampling, seed=config.seed)


def evaluate(workdir: str, num: int = 10_000, *, best: bool = False, step: int | None = None,
             truncation: float = 0.0) -> dict[str, float]:
  """The metrics of `num` samples of a run against its real data (FCD, KID, score, class KL,
  precision, recall, and label accuracy for a class-conditional run), as `jaxgan evaluate`."""
  config, state, spec = restore.restore_run(workdir, step, best=best)
  return run_eval.evaluate_run(config, state, spec, num, truncation=truncation)


def validate(config: ml_collections.ConfigDict) -> None:
  """Raises ConfigError naming the first invalid field of `config`."""
  validation.validate(config)
