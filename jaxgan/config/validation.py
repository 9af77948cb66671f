"""Checks every field of a run config before any work starts; a bad one raises a one-line ConfigError.

The fields, their checks and the model family that reads each are those of `schema.FIELDS`; the few
rules that tie fields together are here.
"""

from typing import Any

from jaxgan.config import schema
from jaxgan.data import idx
from jaxgan.errors import ConfigError


def _fail(field: str, message: str):
  raise ConfigError(f"config.{field}: {message}")


def _check_family_fields(values: dict[str, Any]) -> None:
  """Model fields that one family of networks reads keep their default with another model.name."""
  for name, field in schema.FIELDS.items():
    if field.family and values["model.name"] != field.family and values[name] != field.default:
      _fail(name, f"got {values[name]!r}, but only model {field.family} reads it (model.name is "
            f"{values['model.name']!r}); leave it at {field.default!r}")


def validate(config) -> None:
  """Raises ConfigError naming the first invalid field of `config` and what it allows.

  Checks every field of `schema.FIELDS` (types, ranges, allowed names), rejects unknown fields, and
  the few rules that tie fields together.
  """
  values = schema.flatten(config)
  for name in values:
    if name not in schema.FIELDS:
      _fail(name, "unknown field (a typo?); known fields: " + ", ".join(sorted(schema.FIELDS)))
  for name, field in schema.FIELDS.items():
    if name not in values:
      _fail(name, "missing")
    expected = field.validate(values[name])
    if expected:
      _fail(name, f"got {values[name]!r}, expected {expected}")
  if values["num_steps"] == 0 and values["num_epochs"] == 0:
    _fail("num_epochs", "num_epochs and num_steps are both 0; set one of them > 0")
  _check_family_fields(values)
  if values["model.name"] == "dcgan" and values["model.width"] < 1:
    _fail("model.width", f"got {values['model.width']!r}, expected an integer >= 1 for model dcgan")
  if values["loss.class_weight"] and not values["model.conditional"]:
    _fail("loss.class_weight", f"got {values['loss.class_weight']!r}, but it needs the dataset's "
          "classes; set --config.model.conditional=true or leave it at 0.0")
  if values["optimizer.lr_decay"] and not values["num_steps"]:
    _fail("optimizer.lr_decay", f"got {values['optimizer.lr_decay']!r}, but it decays over a "
          "fraction of num_steps, which is 0; set --config.num_steps or leave it at 0.0")
  if values["loss.mode_seeking_weight"] and values["batch_size"] % 2:
    _fail("loss.mode_seeking_weight", f"got {values['loss.mode_seeking_weight']!r}, but its sample "
          f"pairs need an even batch_size, got {values['batch_size']}")
  group = values["model.d_minibatch_std"]
  if group and values["batch_size"] % group:
    _fail("model.d_minibatch_std", f"got {group}, but batch_size {values['batch_size']} does not "
          "split into groups of it; set a divisor of batch_size or 0 (off)")
  if values["model.clusters"] == 1:
    _fail("model.clusters", "got 1, expected 0 (off) or at least 2 clusters")
  if values["data.source"] == "folder" and not values["data.folder"]:
    _fail("data.folder", "empty while data.source is 'folder'; set --config.data.folder=DIR")
  if values["data.source"] == "idx" and not idx.resolve_idx_dir(values["data.idx_dir"]):
    _fail("data.idx_dir", "empty while data.source is 'idx'; set --config.data.idx_dir or the "
          "JAXGAN_MNIST_IDX_DIR environment variable to the folder of the four MNIST .gz files")
