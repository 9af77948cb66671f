"""A width-32 DCGAN on [-1, 1] data with a tanh generator, tuned for a 15-minute CPU budget.

The discriminator learns 4x slower than the generator (d_lr 1e-4, g_lr 4e-4) with Adam(0, 0.99):
on this small DCGAN a faster D made samples worse, and this balance measured best of the variants
in docs/sweeps.md. 15000 steps took 13.4 minutes on a shared 2-core CPU (tests running beside it)
and reached FCD 56.5 (54x real) at N = 10000, recall 0.78 but precision 0.47 (README, Results); the
seed MLP reaches a lower FCD on the same budget.
"""

from experiments.configs import mlp_gan


def get_config():
  config = mlp_gan.get_config()
  config.num_epochs = 0
  config.num_steps = 15000
  config.ema_decay = 0.999
  config.eval_every_steps = 5000
  config.model.name = "dcgan"
  config.model.latent_dim = 64
  config.model.width = 32
  config.model.init = "normal"
  config.optimizer.g_lr = 4e-4
  config.optimizer.d_lr = 1e-4
  config.optimizer.b1 = 0.0
  config.optimizer.b2 = 0.99
  config.optimizer.weight_decay = 0.0
  config.data.range = "symmetric"
  return config
