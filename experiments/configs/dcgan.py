"""The best unconditional recipe: a self-conditioned DCGAN (no labels used anywhere).

The training images are clustered once with k-means on their pixels (`model.clusters`), and G and
a spectrally normalised projection D are conditioned on the cluster ids, which come from the images
alone; samples draw the clusters in proportion to their sizes. Without them the same network puts
much of its mass between digit shapes (docs/sweeps.md). G at 2e-4 and D at 4e-4 with
Adam(0.5, 0.999), generator EMA, 15000 steps, evaluated every 2500 steps at N = 2000 to keep the
best checkpoint. Results: README, Results.
"""

from jaxgan import config as config_lib


def get_config():
  config = config_lib.default_config()
  config.num_epochs = 0
  config.num_steps = 15000
  config.ema_decay = 0.999
  config.eval_every_steps = 2500
  config.model.name = "dcgan"
  config.model.latent_dim = 64
  config.model.width = 32
  config.model.init = "normal"
  config.model.d_spectral_norm = True
  config.model.clusters = 50
  config.optimizer.g_lr = 2e-4
  config.optimizer.d_lr = 4e-4
  config.optimizer.b1 = 0.5
  config.optimizer.b2 = 0.999
  config.optimizer.weight_decay = 0.0
  config.data.range = "symmetric"
  return config
