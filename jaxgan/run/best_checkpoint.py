"""The best checkpoint of a run by FCD, kept in WORKDIR/checkpoints_best/ beside the latest ones."""

import math
import os

from jaxgan.core.state import GANState
from jaxgan.run import checkpoint as checkpoint_lib
from jaxgan.run import workdir as workdir_lib


class BestCheckpoint:
  """The single checkpoint of a run with the lowest `metric` ("fcd", or "fid" on Inception features)
  so far, in WORKDIR/checkpoints_best/.

  Its run_info holds the value under the metric's name and `eval_num`, so a resumed run goes on
  comparing against it; values of another metric or at another N are not comparable, so such a best
  is replaced by the next one.
  """

  def __init__(self, workdir: str, eval_num: int, metric: str = "fcd"):
    self.eval_num, self.metric = eval_num, metric
    self._ckpts = checkpoint_lib.Checkpoints(os.path.join(workdir, workdir_lib.BEST_DIR), keep=1)
    self.value, self.step = math.inf, None
    latest = self._ckpts.latest_step()
    if latest is not None:
      info = self._ckpts.run_info(latest)
      if info.get("eval_num") == eval_num and metric in info:
        self.value, self.step = float(info[metric]), latest

  def update(self, state: GANState, step: int, value: float, run_info: dict) -> bool:
    """Saves `state` as the best if `value` is lower than the best's; returns whether it did."""
    if not value < self.value or step in self._ckpts.all_steps():
      return False
    self._ckpts.save(state, step, dict(run_info, eval_num=self.eval_num, **{self.metric: value}))
    self.value, self.step = value, step
    return True

  def close(self) -> None:
    self._ckpts.close()
