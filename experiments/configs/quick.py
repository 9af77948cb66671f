"""A first look in about a minute: `cgan.py` for 400 steps, no evaluation.

Its last grid, WORKDIR/samples/step_0000400.png, shows recognisable digits 0-9, one class per
column; the full recipe trains 15000 steps (`cgan.py`).
"""

from experiments.configs import cgan


def get_config():
  config = cgan.get_config()
  config.num_steps = 400
  config.eval_every_steps = 0
  config.eval_final_num = 0
  return config
