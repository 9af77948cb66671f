"""Trains a GAN on MNIST.

  python -m experiments.mnist_gan [--config=experiments/configs/mlp_gan.py] [--workdir=runs/mnist_gan]
      [--config.FIELD=VALUE ...]

Rerunning the same command resumes from the workdir's latest checkpoint.
"""

from absl import flags

from experiments import cli
from jaxgan import train

_WORKDIR = flags.DEFINE_string("workdir", "runs/mnist_gan", "Directory for checkpoints, samples and logs.")
_CONFIG = cli.define_config_file("config", "experiments/configs/mlp_gan.py",
                                 "Training configuration file (overrides: --config.FIELD=VALUE).")


def main():
  train.train_and_evaluate(cli.config_value(_CONFIG), _WORKDIR.value)


if __name__ == "__main__":
  cli.run(main)
