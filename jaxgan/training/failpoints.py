"""Faults on cue, for tests: a training run signals itself at a chosen point instead of a test racing
it with sleeps.

JAXGAN_TEST_FAULTS is a space-separated list of SIGNAL@POINT[=STEP], each sent once by the process
to itself, e.g. `SIGINT@step=30 SIGINT@stop_save`. Points: `step` (after the train call that ends at
STEP, or the first call boundary past it), `save` (the first periodic checkpoint at or after STEP,
started and not yet complete), `stop_save` (the save that a stop signal asked for, started and not
yet complete). Unset, nothing happens.
"""

import os
import signal

ENV = "JAXGAN_TEST_FAULTS"


def _parse(text: str) -> list[tuple[signal.Signals, str, int | None]]:
  faults = []
  for item in text.split():
    name, _, point = item.partition("@")
    point, _, step = point.partition("=")
    faults.append((signal.Signals[name], point, int(step) if step else None))
  return faults


_pending = _parse(os.environ.get(ENV, ""))


def maybe_stop(point: str, step: int | None = None) -> None:
  """Sends this process the signals that JAXGAN_TEST_FAULTS asks for at `point` (and `step`)."""
  for fault in list(_pending):
    signum, at, at_step = fault
    if at == point and (at_step is None or step >= at_step):
      _pending.remove(fault)
      os.kill(os.getpid(), signum)
