"""SIGTERM and Ctrl-C (SIGINT) in a single-process training run: finish the current call, save it, stop.

The handlers only record the signal; the training loop saves the current step and stops (SIGTERM:
exit 0; Ctrl-C: `Interrupted`, exit 130). A second Ctrl-C, while that save is running, stops at once
with one line: orbax writes each step into a temporary folder and renames it when complete, so the
abandoned save leaves only that folder, which the next run removes, and the rerun resumes from the
latest complete step.
"""

import os
import signal
import sys
import threading

import jax

from jaxgan.errors import Interrupted
from jaxgan.run import workdir as workdir_lib

SIGNAL_NAMES = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "Ctrl-C"}


def complete_steps(directory: str) -> list[int]:
  """The steps whose checkpoint folder in `directory` is complete (renamed from its temporary name)."""
  try:
    return sorted(int(name) for name in os.listdir(directory) if name.isdigit())
  except OSError:
    return []


class StopSignals:
  """Records SIGTERM and SIGINT while installed (single process, main thread; a multi-process run
  leaves SIGTERM to JAX's preemption service and Ctrl-C to KeyboardInterrupt)."""

  def __init__(self, checkpoint_dir: str, lock: workdir_lib.RunLock):
    self.checkpoint_dir, self.lock = checkpoint_dir, lock
    self.received: int | None = None  # The first signal received.
    self._previous: dict[int, object] = {}
    if jax.process_count() == 1 and threading.current_thread() is threading.main_thread():
      for signum in SIGNAL_NAMES:
        self._previous[signum] = signal.signal(signum, self._on_signal)

  def _on_signal(self, signum, frame):  # pylint: disable=unused-argument
    if self.received is None:
      self.received = signum
    elif signum == signal.SIGINT:
      self._abandon()

  def _abandon(self) -> None:
    """Ends the process now, without waiting for the save in progress (a second Ctrl-C)."""
    self.lock.release()
    steps = complete_steps(self.checkpoint_dir)
    resume = f"step {steps[-1]}" if steps else "scratch (no complete checkpoint yet)"
    sys.stdout.flush()
    sys.stderr.write(f"\nstopped by a second Ctrl-C without waiting for the save; rerunning the "
                     f"same command resumes from {resume}\n")
    sys.stderr.flush()
    os._exit(Interrupted.exit_code)  # pylint: disable=protected-access

  def stop_message(self, step: int) -> str:
    """The line a stop prints; a multi-process preemption is SIGTERM caught by JAX."""
    return (f"stopped by {SIGNAL_NAMES.get(self.received, 'SIGTERM')} at step {step}: "
            f"checkpoint saved in {self.checkpoint_dir}; rerun the same command to resume")

  def restore(self, signum: int | None = None) -> None:
    """Puts back the previous handler of `signum` (default: of both signals)."""
    for number in [signum] if signum is not None else list(self._previous):
      if number in self._previous:
        signal.signal(number, self._previous.pop(number))
