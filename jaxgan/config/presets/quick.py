"""A first look in about a minute: `dcgan.py` conditioned on MNIST's plain labels for 400 steps,
no evaluation.

Its last grid, WORKDIR/samples/step_0000400.png, shows recognisable digits 0-9, one class per
column; the full recipe trains 15000 steps (`cgan.py`).
"""

from jaxgan.config.presets import dcgan


def get_config():
  config = dcgan.get_config()
  config.model.clusters = 0  # The plain labels (cgan.py splits each class in 40 sub-clusters).
  config.model.conditional = True
  config.num_steps = 400
  config.eval_every_steps = 0
  config.eval_final_num = 0
  return config
