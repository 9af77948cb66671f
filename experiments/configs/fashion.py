"""The `fashion` preset, by its path in a checkout (jaxgan/config/presets/fashion.py)."""

from jaxgan.config.presets.fashion import get_config  # noqa: F401
