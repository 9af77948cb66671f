"""Fashion-MNIST: `dcgan.py` (self-conditioned on 400 k-means clusters, no labels) at batch 32 for
36000 steps, with rates of 3e-4 (G) and 6e-4 (D) and MSGAN's mode-seeking term at 0.05.

Batch 32 runs twice the steps a second of batch 64 on a CPU (the same images a second), and on
clothes a step of either gains about as much, so the same minutes buy twice the updates; the higher
rates get further in them. Measured at N = 10000 against Fashion-MNIST's real baseline on three
seeds: FCD 5.51x, 6.24x and 5.75x real (precision 0.85, 0.85 and 0.84, recall 0.73, 0.75 and 0.75;
the pretrained `fashion_dcgan` is the first, 13.7 minutes on a 2-core CPU, alone). At `dcgan.py`'s
rates, batch 32 by itself measured 5.80x, 6.89x and 6.68x, and with the mode-seeking term 5.78x,
6.42x and 6.08x; `dcgan.py`'s 15000 steps of batch 64: 9.1x (docs/sweeps.md). Its data flags:
README, "Fashion-MNIST".
"""

from jaxgan.config.presets import dcgan


def get_config():
  config = dcgan.get_config()
  config.data.dataset = "fashion_mnist"
  config.batch_size = 32
  config.num_steps = 36000
  config.optimizer.g_lr = 3e-4
  config.optimizer.d_lr = 6e-4
  config.loss.mode_seeking_weight = 0.05
  return config
