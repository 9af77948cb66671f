"""A class-conditional DCGAN: a label embedding concatenated to z in G, a projection discriminator.

`generate --label=K` then draws only class K; the 8x8 sample grids cycle through the classes.
"""

from experiments.configs import dcgan


def get_config():
  config = dcgan.get_config()
  config.model.conditional = True
  return config
