"""Fashion-MNIST: `dcgan.py` (self-conditioned on 400 k-means clusters, no labels) at batch 32 for
36000 steps.

Batch 32 runs twice the steps a second of batch 64 on a CPU (the same images a second), and on
clothes a step of either gains about as much, so the same minutes buy twice the updates. Measured
at N = 10000 against Fashion-MNIST's real baseline: FCD 1.29 (5.80x real), precision 0.88, recall
0.69; 14.6 minutes on a 2-core CPU, alone; seeds 1 and 2: 6.89x and 6.68x. `dcgan.py`'s 15000
steps of batch 64: 9.1x (docs/sweeps.md). With --config.loss.mode_seeking_weight=0.05, the three
seeds measured 5.78x, 6.42x and 6.08x (docs/sweeps.md). Its data flags: README, "Fashion-MNIST".
"""

from jaxgan.config.presets import dcgan


def get_config():
  config = dcgan.get_config()
  config.data.dataset = "fashion_mnist"
  config.batch_size = 32
  config.num_steps = 36000
  return config
