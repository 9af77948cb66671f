"""The seed configuration: the tutorial's MLP GAN, faithfully (the fields are in jaxgan/config/schema.py)."""

from jaxgan.config import schema


def get_config():
  return schema.default_config()
