"""The `smoke` preset, by its path in a checkout (jaxgan/config/presets/smoke.py)."""

from jaxgan.config.presets.smoke import get_config  # noqa: F401
