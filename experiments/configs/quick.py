"""The `quick` preset, by its path in a checkout (jaxgan/config/presets/quick.py)."""

from jaxgan.config.presets.quick import get_config  # noqa: F401
