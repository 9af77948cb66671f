"""The `cgan` preset, by its path in a checkout (jaxgan/config/presets/cgan.py)."""

from jaxgan.config.presets.cgan import get_config  # noqa: F401
