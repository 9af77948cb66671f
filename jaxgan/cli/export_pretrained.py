"""Exports a training run's generator as a pretrained one shipped with the package (jaxgan/weights/).

  python -m experiments.export_pretrained --workdir=runs/dcgan --name=mnist_dcgan \
      --command="python -m experiments.mnist_gan --config=experiments/configs/dcgan.py --workdir=runs/dcgan"

Records the sha256 of the weights, the run's config, the command that trained it and the FCD of the
exported generator at N = 2000 (the shipped-weights test reproduces it).
"""

import json

from absl import flags

from jaxgan.cli import entry
from jaxgan.core import sampling
from jaxgan.evaluation import run_eval
from jaxgan.run import pretrained, restore

_WORKDIR = flags.DEFINE_string("workdir", None, "The training run's directory.", required=True)
_NAME = flags.DEFINE_enum("name", None, list(pretrained.NAMES), "The pretrained generator's name.",
                          required=True)
_COMMAND = flags.DEFINE_string("command", "", "The command that trained the run.")
_BEST = flags.DEFINE_boolean("best", True, "Export the best checkpoint by FCD (else the latest).")
_NUM = 2000


def main():
  config, state, spec = restore.restore_run(_WORKDIR.value, best=_BEST.value)
  evaluator = run_eval.load_evaluator(config.data)
  reference = run_eval.load_reference(evaluator, config.data)
  sample = sampling.Sampler(spec, config.sampling, config.seed)
  metrics = run_eval.evaluate_state(sample, state, run_eval.eval_key(0), _NUM, evaluator, reference,
                                    kid_subsets=10)  # The same images as the exported generator's.
  pretrained.export(_WORKDIR.value, _NAME.value, command=_COMMAND.value, best=_BEST.value,
                    metrics={"fcd_n2000": metrics["fcd"], "fcd_ratio_n2000": metrics["fcd_ratio"]})
  print(json.dumps(dict(name=_NAME.value, **metrics), sort_keys=True))


if __name__ == "__main__":
  entry.run(main)
