"""A few dozen steps of a small MLP GAN, for tests and CI."""

from jaxgan.config.presets import mlp_gan


def get_config():
  config = mlp_gan.get_config()
  config.batch_size = 16
  config.num_steps = 40
  config.log_every_steps = 10
  config.checkpoint_every_steps = 20
  config.eval_num = 256
  config.eval_final_num = 0
  config.model.g_hidden = (32, 64)
  config.model.d_hidden = (64, 32)
  config.model.latent_dim = 16
  return config
