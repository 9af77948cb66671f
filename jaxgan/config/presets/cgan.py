"""The class-conditional DCGAN: `dcgan.py` conditioned on MNIST's labels instead of clusters.

A label embedding is concatenated to z in G, and D is a spectrally normalised projection
discriminator; `generate --label=K` draws only class K, and the sample grids put one class in each
column. It needs labels; `dcgan.py` is the same recipe without them. Results: README, Results.
"""

from jaxgan.config.presets import dcgan


def get_config():
  config = dcgan.get_config()
  config.model.clusters = 0
  config.model.conditional = True
  return config
