"""The shipped presets by their paths in a checkout: `--config=experiments/configs/NAME.py`."""
