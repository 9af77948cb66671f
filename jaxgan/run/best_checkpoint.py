"""The best checkpoint of a run by FCD, kept in WORKDIR/checkpoints_best/ beside the latest ones."""

import math
import os

from jaxgan.core.state import GANState
from jaxgan.run import checkpoint as checkpoint_lib
from jaxgan.run import workdir as workdir_lib


class BestCheckpoint:
  """The single checkpoint of a run with the lowest FCD so far, in WORKDIR/checkpoints_best/.

  Its run_info holds `fcd` and `eval_num`, so a resumed run goes on comparing against it; FCDs at
  another N are not comparable, so a best saved with another `eval_num` is replaced by the next one.
  """

  def __init__(self, workdir: str, eval_num: int):
    self.eval_num = eval_num
    self._ckpts = checkpoint_lib.Checkpoints(os.path.join(workdir, workdir_lib.BEST_DIR), keep=1)
    self.fcd, self.step = math.inf, None
    latest = self._ckpts.latest_step()
    if latest is not None:
      info = self._ckpts.run_info(latest)
      if info.get("eval_num") == eval_num:
        self.fcd, self.step = float(info["fcd"]), latest

  def update(self, state: GANState, step: int, fcd: float, run_info: dict) -> bool:
    """Saves `state` as the best if `fcd` is lower than the best's; returns whether it did."""
    if not fcd < self.fcd or step in self._ckpts.all_steps():
      return False
    self._ckpts.save(state, step, dict(run_info, fcd=fcd, eval_num=self.eval_num))
    self.fcd, self.step = fcd, step
    return True

  def close(self) -> None:
    self._ckpts.close()
