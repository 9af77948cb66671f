"""Trains a GAN on MNIST.

  jaxgan train [--config=mlp_gan|FILE] [--workdir=runs/mnist_gan] [--config.FIELD=VALUE ...]
      [--coordinator_address=HOST:PORT --num_processes=N --process_id=I]
  python -m experiments.mnist_gan [--config=experiments/configs/mlp_gan.py] ...  (in a checkout)

Rerunning the same command resumes from the workdir's latest checkpoint. A multi-host run starts the
same command in every process (with its own --process_id); on a TPU pod slice or under SLURM the three
multi-host flags can be left out and are detected.
"""

from absl import flags

from jaxgan import parallel
from jaxgan.cli import entry
from jaxgan.training import loop

_WORKDIR = flags.DEFINE_string("workdir", "runs/mnist_gan", "Directory for checkpoints, samples and logs.")
_CONFIG = entry.define_config_file("mlp_gan", "Training configuration file.")
flags.adopt_module_key_flags(entry)  # --help lists --config and --print_config.
_COORDINATOR = flags.DEFINE_string("coordinator_address", None,
                                   "Multi-host: HOST:PORT of process 0's coordinator service.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Multi-host: number of processes.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "Multi-host: this process's index.")
_COORDINATOR_TIMEOUT = flags.DEFINE_integer(
    "coordinator_timeout", 300, "Multi-host: seconds for every process to reach the coordinator.")


def main():
  parallel.initialize_distributed(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value,
                                  _COORDINATOR_TIMEOUT.value)
  loop.train_and_evaluate(entry.config_value(_CONFIG), _WORKDIR.value)


if __name__ == "__main__":
  entry.run(main, _CONFIG)
