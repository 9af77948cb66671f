"""The best measured configuration for a 15-minute CPU budget: `cgan.py`, the class-conditional
DCGAN with a spectrally normalised projection discriminator.

It trains on MNIST's labels; its samples, grids and evaluations draw the classes in turn, so as an
image generator it is compared with the real digits exactly as the unconditional models are. The
best unconditional recipe is `mlp_ema.py`. Both are measured in the README's Results.
"""

from experiments.configs import cgan


def get_config():
  return cgan.get_config()
