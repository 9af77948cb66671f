"""The `mlp_gan` preset, by its path in a checkout (jaxgan/config/presets/mlp_gan.py)."""

from jaxgan.config.presets.mlp_gan import get_config  # noqa: F401
