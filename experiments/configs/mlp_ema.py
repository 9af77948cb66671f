"""The `mlp_ema` preset, by its path in a checkout (jaxgan/config/presets/mlp_ema.py)."""

from jaxgan.config.presets.mlp_ema import get_config  # noqa: F401
