"""The evaluations a training run makes: every eval_every_steps steps on eval_num samples (keeping the
best checkpoint by FCD), and eval_final_num samples at the end."""

import logging

from jaxgan.core.state import GANState
from jaxgan.evaluation import run_eval
from jaxgan.run import workdir as workdir_lib
from jaxgan.run.best_checkpoint import BestCheckpoint

log = logging.getLogger(__name__)


class TrainingEvaluation:
  """Evaluations during training, as the config asks.

  Every `eval_every_steps` steps and at the last step (when `eval_every_steps` > 0), `eval_num`
  samples are evaluated with a cheaper KID, and the state is kept in checkpoints_best/ when its FCD is
  the lowest so far. After the last step, `eval_final_num` samples (0: none) are evaluated in full and
  written to eval.json. Every sample uses the same noise, `run_eval.eval_key(config.seed)`, and the dataset's
  own evaluator; `enabled` is False when it has none or the config asks for no classifier.
  """

  TRAINING_KID_SUBSETS = 10

  def __init__(self, config, workdir: str, sample: run_eval.SampleFn, num_classes: int):
    self.workdir, self.sample, self.num_classes = workdir, sample, num_classes
    self.every, self.num, self.final_num = (config.eval_every_steps, config.eval_num,
                                            config.eval_final_num)
    self.key = run_eval.eval_key(config.seed)
    missing = run_eval.missing_evaluator(config.data)
    self.enabled = missing is None and (self.every > 0 or self.final_num > 0)
    if missing and (self.every > 0 or self.final_num > 0):
      log.info("evaluation skipped: %s", missing)
    self.best = None
    if not self.enabled:
      return
    self.evaluator = run_eval.load_evaluator(config.data)
    self.reference = run_eval.load_reference(self.evaluator, config.data)
    if self.every > 0:
      run_eval.check_num(self.num, self.reference, "config.eval_num")
      self.best = BestCheckpoint(workdir, self.num)
    if self.final_num > 0:
      run_eval.check_num(self.final_num, self.reference, "config.eval_final_num")

  def periodic(self, state: GANState, step: int, run_info: dict) -> tuple[dict[str, float], bool]:
    """(metrics, whether the state became the best checkpoint)."""
    metrics = run_eval.evaluate_state(self.sample, state, self.key, self.num, self.evaluator, self.reference,
                             kid_subsets=self.TRAINING_KID_SUBSETS, num_classes=self.num_classes)
    return metrics, self.best.update(state, step, metrics["fcd"], run_info)

  def final(self, state: GANState, step: int, write: bool) -> dict[str, float] | None:
    """The full evaluation of the final state (None when `eval_final_num` is 0); `write`: eval.json."""
    if not self.enabled or self.final_num == 0:
      return None
    metrics = run_eval.evaluate_state(self.sample, state, self.key, self.final_num, self.evaluator,
                             self.reference, num_classes=self.num_classes)
    if write:
      workdir_lib.write_eval_json(self.workdir, dict(step=step, checkpoint="latest", **metrics))
    return metrics

  def close(self) -> None:
    if self.best is not None:
      self.best.close()
