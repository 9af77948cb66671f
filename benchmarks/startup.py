"""Start-up time of the training command: seconds to its first printed line and to its first step.

  python -m benchmarks.startup [--config=experiments/configs/smoke.py] [--repeats=3] [--cwd=DIR]

Each repeat runs `python -m experiments.mnist_gan --config=CONFIG --config.num_steps=1
--config.log_every_steps=1 --config.eval_final_num=0` in a fresh workdir, from --cwd (a checkout, for
comparing versions side by side), and times from the launch to the first byte of output and to the
"step 1/1" line, printed once the first step is done. Prints one JSON line of medians.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags

_CONFIG = flags.DEFINE_string("config", "experiments/configs/smoke.py", "Config file to start.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Runs to take the median of.")
_CWD = flags.DEFINE_string("cwd", ".", "Checkout to run the command in.")
_EXTRA = flags.DEFINE_multi_string("extra", [], "More flags for the training command.")


def time_one(config: str, cwd: str, extra: list[str]) -> tuple[float, float]:
  """(seconds to the first output byte, seconds to the end of the first step) of one run."""
  with tempfile.TemporaryDirectory() as workdir:
    command = [sys.executable, "-m", "experiments.mnist_gan", f"--config={config}",
               f"--workdir={workdir}", "--config.num_steps=1", "--config.log_every_steps=1",
               "--config.eval_final_num=0", *extra]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    first_output, first_step, seen = None, None, b""
    while chunk := os.read(process.stdout.fileno(), 4096):
      now = time.perf_counter() - start
      first_output = first_output if first_output is not None else now
      seen += chunk
      if first_step is None and b"step 1/1" in seen:
        first_step = now
    if process.wait() != 0 or first_step is None:
      raise RuntimeError(f"{' '.join(command)} failed:\n{seen.decode()[-2000:]}")
  return first_output, first_step


def main(argv):
  del argv
  times = [time_one(_CONFIG.value, _CWD.value, _EXTRA.value) for _ in range(_REPEATS.value)]
  print(json.dumps(dict(
      config=_CONFIG.value, cwd=os.path.abspath(_CWD.value), repeats=_REPEATS.value,
      first_output_s=round(statistics.median(t[0] for t in times), 2),
      first_step_s=round(statistics.median(t[1] for t in times), 2))))


if __name__ == "__main__":
  app.run(main)
