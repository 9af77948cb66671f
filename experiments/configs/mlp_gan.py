"""The seed configuration: the tutorial's MLP GAN, faithfully (the fields are in jaxgan/config.py)."""

from jaxgan import config as config_lib


def get_config():
  return config_lib.default_config()
