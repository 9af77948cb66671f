"""A run's metric records: WORKDIR/metrics.jsonl (one JSON object a line) and TensorBoard scalars, and
the `RunLog` that the training loop's actions report through."""

import contextlib
import json
import logging
import os
import time

import tqdm

from jaxgan import parallel
from jaxgan.errors import JaxganError
from jaxgan.run import workdir as workdir_lib

log = logging.getLogger(__name__)
METRICS_FILE = "metrics.jsonl"


def read_records(path: str) -> list[dict]:
  """The records of a metrics.jsonl; a torn last line (a run killed mid-write) is dropped with a warning.

  Raises:
    JaxganError: a line before the last is not a record (the file is damaged, not torn).
  """
  with open(path) as f:
    lines = [line for line in f.read().split("\n") if line.strip()]
  records = []
  for number, line in enumerate(lines, 1):
    try:
      record = json.loads(line)
      if not isinstance(record, dict) or not isinstance(record.get("step"), int):
        raise ValueError("not a record with an integer step")
    except ValueError as e:
      if number < len(lines):
        raise JaxganError(f"{path}: line {number} is not a metrics record ({e}); move the file away "
                          "to start the log anew") from e
      log.warning("%s: dropped its torn last line %d (the run was stopped while writing it)", path,
                  number)
      continue
    records.append(record)
  return records


class MetricsLog:
  """Appends records to metrics.jsonl and TensorBoard; on resume, drops what came after the restored step.

  Args:
    workdir: the run's directory.
    start_step: the step the run resumes from (0: a new run).
  """

  def __init__(self, workdir: str, start_step: int):
    import tensorboardX  # pylint: disable=g-import-not-at-top  (it imports torch when installed: slow)
    self.path = os.path.join(workdir, METRICS_FILE)
    self.records = []
    if os.path.exists(self.path):
      self.records = [r for r in read_records(self.path) if r["step"] <= start_step]
    with workdir_lib.atomic_open(self.path) as f:
      f.writelines(json.dumps(r) + "\n" for r in self.records)
    self._file = open(self.path, "a")
    self._tb = tensorboardX.SummaryWriter(os.path.join(workdir, "tensorboard"),
                                          purge_step=start_step + 1 if start_step else None)

  def write(self, record: dict) -> None:
    """Appends one record (a dict with an integer `step` and float values)."""
    self.records.append(record)
    self._file.write(json.dumps(record) + "\n")
    self._file.flush()
    for name, value in record.items():
      if name != "step":
        self._tb.add_scalar(name, value, record["step"])

  def close(self) -> None:
    self._file.close()
    self._tb.close()


class RunLog:
  """Where the actions report: records in the metrics log (metrics.jsonl and TensorBoard) and lines
  above the progress bar, by process 0; and the training clock, which evaluations pause."""

  def __init__(self, workdir: str, start_step: int):
    self.main = parallel.is_main_process()
    self.metrics_log = MetricsLog(workdir, start_step) if self.main else None
    self._paused_seconds = 0.0

  def write(self, record: dict, line: str | None = None) -> None:
    """Process 0: appends `record` to the metrics log and prints `line` above the progress bar."""
    if self.main:
      self.metrics_log.write(record)
      if line:
        tqdm.tqdm.write(line)

  def clock(self) -> float:
    """Seconds of training: wall-clock time less the paused intervals."""
    return time.perf_counter() - self._paused_seconds

  @contextlib.contextmanager
  def paused(self):
    start = time.perf_counter()
    try:
      yield
    finally:
      self._paused_seconds += time.perf_counter() - start

  def close(self) -> None:
    if self.main:
      self.metrics_log.close()
