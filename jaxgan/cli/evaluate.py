"""Measures the sample quality of a trained run: in its images' evaluator classifier's features, or
in Inception features (any images, labelled or not).

  jaxgan evaluate --workdir=DIR [--num=10000] [--step=K | --best] [--seed=S] [--truncation=PSI]
      [--features=classifier|inception [--fid_weights=PATH]]

Prints one JSON line (step, checkpoint, num, and for each metric m of jaxgan.evaluation: m, real_m
and m_ratio; with --features=inception: fid, kid, precision, recall, is_real, is_fake) and writes
it to WORKDIR/eval.json (eval_inception.json). Without --seed the samples use the run's evaluation
noise, so the final checkpoint reproduces the final evaluation of training.
"""

import json

from absl import flags

from jaxgan.cli import entry
from jaxgan.core import sampling
from jaxgan.errors import ConfigError
from jaxgan.evaluation import run_eval
from jaxgan.run import restore
from jaxgan.run import workdir as workdir_lib

_WORKDIR = flags.DEFINE_string("workdir", None, "The training run's directory.")
_NUM = flags.DEFINE_integer("num", 10_000, "Number of generated images (2 to 10000).")
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step (default: the latest).")
_SAMPLING = flags.DEFINE_enum("sampling", None, list(sampling.SAMPLING_MODES),
                               "BatchNorm statistics to sample with (default: the run's config).")
_BEST = flags.DEFINE_boolean("best", False, "Evaluate the best checkpoint by FCD (checkpoints_best/).")
_SEED = flags.DEFINE_integer("seed", None, "Seed of the noise (default: the run's evaluation noise).")
_KID_SUBSETS = flags.DEFINE_integer("kid_subsets", 100, "Random subsets the KID is averaged over.")
_FEATURES = flags.DEFINE_enum(
    "features", "classifier", ["classifier", "inception"],
    "classifier: the dataset's evaluator (FCD, score, class KL, label accuracy; labelled data only); "
    "inception: FID, KID, IS and precision/recall on pytorch-fid's Inception (any images; "
    "comparable with papers' FID, see docs/fid.md).")
_FID_WEIGHTS = flags.DEFINE_string("fid_weights", None, "pytorch-fid's Inception .pth, brought by "
                                   "hand (default: the cache, else a download).")
_TRUNCATION = flags.DEFINE_float("truncation", 0.0, "Truncation trick: latents resampled into "
                                 "[-PSI, PSI] (0: off; lower trades diversity for fidelity).")


def main():
  if not _WORKDIR.value:
    raise ConfigError("--workdir is required: the directory of a training run")
  if _BEST.value and _STEP.value is not None:
    raise ConfigError("--best and --step exclude each other")
  if _KID_SUBSETS.value < 1:
    raise ConfigError(f"--kid_subsets: got {_KID_SUBSETS.value}, expected an integer >= 1")
  sampling.check_truncation(_TRUNCATION.value)
  config, state, spec = restore.restore_run(_WORKDIR.value, _STEP.value, best=_BEST.value)
  config.sampling = _SAMPLING.value or config.sampling
  if _FEATURES.value == "inception":
    metrics = run_eval.evaluate_run_inception(
        config, state, spec, _NUM.value, seed=_SEED.value, truncation=_TRUNCATION.value,
        fid_weights=_FID_WEIGHTS.value, kid_subsets=_KID_SUBSETS.value)
  else:
    metrics = run_eval.evaluate_run(config, state, spec, _NUM.value, seed=_SEED.value,
                                    kid_subsets=_KID_SUBSETS.value, truncation=_TRUNCATION.value)
  which = "best" if _BEST.value else ("latest" if _STEP.value is None else "step")
  record = dict(step=int(state.step), checkpoint=which, **metrics)
  if _FEATURES.value == "inception":
    record["features"] = "inception"
  if _TRUNCATION.value:
    record["truncation"] = _TRUNCATION.value
  try:
    workdir_lib.write_eval_json(_WORKDIR.value, record, _FEATURES.value)
  except OSError as error:
    raise ConfigError(f"--workdir={_WORKDIR.value}: cannot write its evaluation there: "
                      f"{error.strerror or error}") from error
  print(json.dumps(record, sort_keys=True))


if __name__ == "__main__":
  entry.run(main)
