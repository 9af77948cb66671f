"""A DCGAN on [-1, 1] data with a tanh generator, the usual improvement over the seed MLP."""

from experiments.configs import mlp_gan


def get_config():
  config = mlp_gan.get_config()
  config.num_epochs = 10
  config.ema_decay = 0.999
  config.eval_every_steps = 937
  config.model.name = "dcgan"
  config.model.latent_dim = 64
  config.model.width = 64
  config.model.init = "normal"
  config.optimizer.g_lr = 2e-4
  config.optimizer.d_lr = 2e-4
  config.optimizer.b1 = 0.5
  config.optimizer.b2 = 0.999
  config.optimizer.weight_decay = 0.0
  config.data.range = "symmetric"
  return config
