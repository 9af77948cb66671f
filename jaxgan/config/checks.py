"""The checks a config field can have: each returns None for a valid value, else what it expects."""

import math
from collections.abc import Callable, Sequence
from typing import Any

Check = Callable[[Any], str | None]


def is_int(v) -> bool:
  """Whether `v` is an int (not a bool)."""
  return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
  return (is_int(v) or isinstance(v, float)) and math.isfinite(v)


def integer(low: int, high: int | None = None) -> Check:
  """An integer in [low, high] (high None: no upper bound)."""
  bounds = f">= {low}" if high is None else f"in [{low}, {high}]"

  def check(v):
    if not is_int(v) or v < low or (high is not None and v > high):
      return f"an integer {bounds}"
    return None
  return check


def number(low: float, *, low_open: bool = False, high: float | None = None,
           high_open: bool = True) -> Check:
  """A finite number between `low` and `high`, each end open or closed."""
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


def one_of(allowed: Sequence[str]) -> Check:
  """One of the `allowed` names."""
  return lambda v: None if v in allowed else "one of " + ", ".join(repr(a) for a in allowed)


def boolean(v) -> str | None:
  """True or False."""
  return None if isinstance(v, bool) else "true or false"


def string(v) -> str | None:
  """Any string."""
  return None if isinstance(v, str) else "a string"


def layer_sizes(v) -> str | None:
  """A non-empty sequence of positive integers."""
  ok = isinstance(v, (tuple, list)) and len(v) > 0 and all(is_int(x) and x > 0 for x in v)
  return None if ok else "a non-empty list of positive integers, e.g. (128, 256)"


def by_type(default) -> Check:
  """The check of a field with none of its own: the type of its default."""
  if isinstance(default, bool):
    return boolean
  if isinstance(default, int):
    return integer(0)
  if isinstance(default, float):
    return number(0.0)
  if isinstance(default, (tuple, list)):
    return layer_sizes
  return string
