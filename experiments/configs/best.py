"""The `best` preset, by its path in a checkout (jaxgan/config/presets/best.py)."""

from jaxgan.config.presets.best import get_config  # noqa: F401
