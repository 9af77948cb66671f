"""The best measured unconditional configuration: the seed MLP GAN with generator EMA.

12000 steps (about 13 epochs) of the tutorial's networks and optimizer, with samples and evaluation
from an EMA (decay 0.999) of the generator and standing BatchNorm statistics, evaluated every 2000
steps to keep the best checkpoint. Measured on a shared 2-core CPU: 6.1 minutes, FCD 29.0 (27.7x
real) at N = 10000, score 8.32, class KL 0.082, precision 0.82, recall 0.61 (README, Results). Its
FCD at N = 2000 stops improving after 12000 steps (28.8 to 29.2 up to step 16000, then 30.4 and 32.9
at 18000 and 20000, as the class histogram drifts), so a longer run only keeps the same best
checkpoint. It was chosen over a DCGAN on the same budget and slower learning rates for D
(docs/sweeps.md). It was `best.py` until the spectrally normalised conditional DCGAN beat it.
"""

from jaxgan.config.presets import mlp_gan


def get_config():
  config = mlp_gan.get_config()
  config.num_epochs = 0
  config.num_steps = 12000
  config.ema_decay = 0.999
  config.eval_every_steps = 2000
  return config
