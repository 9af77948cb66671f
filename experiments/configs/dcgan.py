"""The `dcgan` preset, by its path in a checkout (jaxgan/config/presets/dcgan.py)."""

from jaxgan.config.presets.dcgan import get_config  # noqa: F401
