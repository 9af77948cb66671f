"""The best measured configuration for a 15-minute CPU budget: the seed MLP GAN with generator EMA.

45 epochs of the tutorial's networks and optimizer, with samples and evaluation from an EMA (decay
0.999) of the generator and standing BatchNorm statistics. Measured on a shared 2-core CPU: see the
README's Results for its minutes and metrics, and docs/sweeps.md for what it was chosen over (a
DCGAN on the same budget, slower learning rates for D).
"""

from experiments.configs import mlp_gan


def get_config():
  config = mlp_gan.get_config()
  config.num_epochs = 45
  config.ema_decay = 0.999
  config.eval_every_steps = 10000
  return config
