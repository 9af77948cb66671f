"""Checks every field of a run config before any work starts; a bad one raises a one-line ConfigError.

The fields and their types are those of `jaxgan.config.default_config()`; CHECKS adds ranges and choices.
"""

import math
from collections.abc import Callable, Sequence
from typing import Any

from jaxgan import config as config_lib
from jaxgan import data, datasets, idx, losses, models, sampling
from jaxgan.errors import ConfigError
from jaxgan.models import layers


def _is_int(v) -> bool:
  return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
  return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


def _int(low: int, high: int | None = None) -> Callable[[Any], str | None]:
  bounds = f">= {low}" if high is None else f"in [{low}, {high}]"

  def check(v):
    if not _is_int(v) or v < low or (high is not None and v > high):
      return f"an integer {bounds}"
    return None
  return check


def _float(low: float, *, low_open: bool = False, high: float | None = None,
           high_open: bool = True) -> Callable[[Any], str | None]:
  left, right = "(" if low_open else "[", ")" if high_open else "]"
  bounds = f"in {left}{low}, {'inf' if high is None else high}{right}"

  def check(v):
    if not _is_number(v):
      return f"a finite number {bounds}"
    if v < low or (low_open and v == low):
      return f"a number {bounds}"
    if high is not None and (v > high or (high_open and v == high)):
      return f"a number {bounds}"
    return None
  return check


def _one_of(allowed: Sequence[str]) -> Callable[[Any], str | None]:
  return lambda v: None if v in allowed else "one of " + ", ".join(repr(a) for a in allowed)


def _bool(v) -> str | None:
  return None if isinstance(v, bool) else "true or false"


def _str(v) -> str | None:
  return None if isinstance(v, str) else "a string"


def _layer_sizes(v) -> str | None:
  ok = (isinstance(v, (tuple, list)) and len(v) > 0 and all(_is_int(x) and x > 0 for x in v))
  return None if ok else "a non-empty list of positive integers, e.g. (128, 256)"


# The range or choices of a field; a field not named here is checked against its default's type.
CHECKS: dict[str, Callable[[Any], str | None]] = {
    "seed": _int(0, 2**32 - 1),
    "batch_size": _int(1),
    "num_epochs": _int(0),
    "num_steps": _int(0),
    "log_every_steps": _int(1),
    "checkpoint_every_steps": _int(1),
    "keep_checkpoints": _int(1),
    "eval_every_steps": _int(0),
    "eval_num": _int(1),
    "eval_final_num": _int(0),
    "ema_decay": _float(0.0, high=1.0),
    "dtype": _one_of(tuple(models.DTYPES)),
    "sampling": _one_of(sampling.SAMPLING_MODES),
    "steps_per_call": _int(0),
    "profile_steps": _int(0),
    "d_steps": _int(1),
    "max_nonfinite_steps": _int(1),
    "model.name": _one_of(tuple(models.REGISTRY)),
    "model.latent_dim": _int(1),
    "model.g_hidden": _layer_sizes,
    "model.d_hidden": _layer_sizes,
    "model.width": _int(0),
    "model.stages": _int(2, 3),
    "model.init": _one_of(layers.INITS),
    "model.clusters": _int(0),
    "optimizer.g_lr": _float(0.0, low_open=True),
    "optimizer.d_lr": _float(0.0, low_open=True),
    "optimizer.b1": _float(0.0, high=1.0),
    "optimizer.b2": _float(0.0, high=1.0),
    "optimizer.eps": _float(0.0, low_open=True),
    "optimizer.weight_decay": _float(0.0),
    "loss.generator": _one_of(losses.GENERATOR_LOSSES),
    "loss.discriminator": _one_of(losses.DISCRIMINATOR_LOSSES),
    "loss.r1_gamma": _float(0.0),
    "loss.r1_every": _int(1),
    "loss.l1_weight": _float(0.0),
    "data.dataset": lambda v: None if isinstance(v, str) and v.strip() else "a TFDS dataset name",
    "data.image_size": _int(0),
    "data.channels": lambda v: None if v in (0, 1, 3) and _is_int(v) else "0, 1 or 3",
    "data.source": _one_of(datasets.SOURCES),
    "data.range": _one_of(data.RANGES),
    "data.pipeline": _one_of(data.PIPELINES),
    "data.resident_budget_mib": _int(0),
    "data.stream_threads": _int(1),
    "health.d_loss_floor": _float(0.0),
    "health.d_loss_patience": _int(1),
    "health.min_sample_distance": _float(0.0),
    "health.max_grad_norm": _float(0.0, low_open=True),
}


def flatten(config, prefix: str = "") -> dict[str, Any]:
  """{"optimizer.g_lr": value, ...}: the fields of a (nested) config by dotted name."""
  out = {}
  for name, value in config.items():
    if hasattr(value, "items"):
      out.update(flatten(value, f"{prefix}{name}."))
    else:
      out[f"{prefix}{name}"] = value
  return out


def _type_check(default) -> Callable[[Any], str | None]:
  """The check of a field without an entry in CHECKS: the type of its default."""
  if isinstance(default, bool):
    return _bool
  if isinstance(default, int):
    return _int(0)
  if isinstance(default, float):
    return _float(0.0)
  if isinstance(default, (tuple, list)):
    return _layer_sizes
  return _str


_DEFAULTS = flatten(config_lib.default_config())
assert set(CHECKS) <= set(_DEFAULTS), f"CHECKS names fields without a default: {set(CHECKS) - set(_DEFAULTS)}"
FIELDS = {field: CHECKS.get(field) or _type_check(default) for field, default in _DEFAULTS.items()}


def _fail(field: str, message: str):
  raise ConfigError(f"config.{field}: {message}")


# Model fields that one family of networks reads: with another model.name they keep their default.
FAMILY_FIELDS = {"model.g_hidden": "mlp", "model.d_hidden": "mlp", "model.width": "dcgan",
                 "model.stages": "dcgan"}


def _check_family_fields(values: dict[str, Any]) -> None:
  defaults = flatten(config_lib.default_config())
  for field, family in FAMILY_FIELDS.items():
    if values["model.name"] != family and values[field] != defaults[field]:
      _fail(field, f"got {values[field]!r}, but only model {family} reads it (model.name is "
            f"{values['model.name']!r}); leave it at {defaults[field]!r}")


def validate(config) -> None:
  """Raises ConfigError naming the first invalid field of `config` and what it allows.

  Checks every field of jaxgan.config.default_config() (types, ranges, allowed names), rejects unknown
  fields, and the few rules that tie fields together.
  """
  values = flatten(config)
  for field in values:
    if field not in FIELDS:
      _fail(field, "unknown field (a typo?); known fields: " + ", ".join(sorted(FIELDS)))
  for field, check in FIELDS.items():
    if field not in values:
      _fail(field, "missing")
    expected = check(values[field])
    if expected:
      _fail(field, f"got {values[field]!r}, expected {expected}")
  if values["num_steps"] == 0 and values["num_epochs"] == 0:
    _fail("num_epochs", "num_epochs and num_steps are both 0; set one of them > 0")
  _check_family_fields(values)
  if values["model.name"] == "dcgan" and values["model.width"] < 1:
    _fail("model.width", f"got {values['model.width']!r}, expected an integer >= 1 for model dcgan")
  if values["model.clusters"] == 1:
    _fail("model.clusters", "got 1, expected 0 (off) or at least 2 clusters")
  if values["data.source"] == "folder" and not values["data.folder"]:
    _fail("data.folder", "empty while data.source is 'folder'; set --config.data.folder=DIR")
  if values["data.source"] == "idx" and not idx.resolve_idx_dir(values["data.idx_dir"]):
    _fail("data.idx_dir", "empty while data.source is 'idx'; set --config.data.idx_dir or the "
          "JAXGAN_MNIST_IDX_DIR environment variable to the folder of the four MNIST .gz files")
