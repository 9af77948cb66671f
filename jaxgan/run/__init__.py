"""A run's directory and what lives in it: the layout and lock, atomic writes, config.json, orbax
checkpoints (latest and best), restoring a run, what a resume may change, the metrics log, the
pictures (grids, GIFs, curves) and the pretrained generators exported from runs.

It may import `jaxgan.config`, `jaxgan.evaluation`, `jaxgan.core`, `jaxgan.data`, `jaxgan.models`
and the base modules; never the training loop.
"""
