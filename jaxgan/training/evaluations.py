"""The evaluations a training run makes: every eval_every_steps steps on eval_num samples (keeping the
best checkpoint), and eval_final_num samples at the end; in the features of the dataset's evaluator
classifier (FCD), or of Inception (FID) with config.eval_features = "inception"."""

import logging

from jaxgan.core.state import GANState
from jaxgan.evaluation import run_eval
from jaxgan.run import workdir as workdir_lib
from jaxgan.run.best_checkpoint import BestCheckpoint

log = logging.getLogger(__name__)


class TrainingEvaluation:
  """Evaluations during training, as the config asks.

  Every `eval_every_steps` steps and at the last step (when `eval_every_steps` > 0), `eval_num`
  samples are evaluated with a cheaper KID, and the state is kept in checkpoints_best/ when its FCD
  (FID) is the lowest so far. After the last step, `eval_final_num` samples (0: none) are evaluated in
  full and written to eval.json (eval_inception.json). Every sample uses the same noise,
  `run_eval.eval_key(config.seed)`. `enabled` is False when the config asks for no evaluation, or
  for the classifier's and the images have none.
  """

  TRAINING_KID_SUBSETS = 10

  def __init__(self, config, workdir: str, sample: run_eval.SampleFn, num_classes: int):
    self.workdir, self.sample, self.num_classes = workdir, sample, num_classes
    self.every, self.num, self.final_num = (config.eval_every_steps, config.eval_num,
                                            config.eval_final_num)
    self.features = config.eval_features
    self.key = run_eval.eval_key(config.seed)
    wanted = self.every > 0 or self.final_num > 0
    missing = None if self.features == "inception" else run_eval.missing_evaluator(config.data)
    self.enabled = missing is None and wanted
    if missing and wanted:
      log.info("evaluation skipped: %s", missing)
    self.best = None
    if not self.enabled:
      return
    if self.features == "inception":
      self.inception = run_eval.InceptionEvaluation(config.data)
    else:
      self.evaluator = run_eval.load_evaluator(config.data)
      self.reference = run_eval.load_reference(self.evaluator, config.data)
      if self.every > 0:
        run_eval.check_num(self.num, self.reference, "config.eval_num")
      if self.final_num > 0:
        run_eval.check_num(self.final_num, self.reference, "config.eval_final_num")
    if self.every > 0:
      self.best = BestCheckpoint(workdir, self.num, "fid" if self.features == "inception" else "fcd")

  def _metrics(self, state: GANState, num: int, kid_subsets: int) -> dict[str, float]:
    if self.features == "inception":
      return self.inception(self.sample, state, self.key, num, kid_subsets=kid_subsets)
    return run_eval.evaluate_state(self.sample, state, self.key, num, self.evaluator,
                                   self.reference, kid_subsets=kid_subsets,
                                   num_classes=self.num_classes)

  def periodic(self, state: GANState, step: int, run_info: dict) -> tuple[dict[str, float], bool]:
    """(metrics, whether the state became the best checkpoint)."""
    metrics = self._metrics(state, self.num, self.TRAINING_KID_SUBSETS)
    return metrics, self.best.update(state, step, metrics[self.best.metric], run_info)

  def final(self, state: GANState, step: int, write: bool) -> dict[str, float] | None:
    """The full evaluation of the final state (None when `eval_final_num` is 0); `write`: eval.json
    (eval_inception.json)."""
    if not self.enabled or self.final_num == 0:
      return None
    metrics = self._metrics(state, self.final_num, kid_subsets=100)
    if write:
      workdir_lib.write_eval_json(self.workdir, dict(step=step, checkpoint="latest", **metrics),
                                  self.features)
    return metrics

  def close(self) -> None:
    if self.best is not None:
      self.best.close()
