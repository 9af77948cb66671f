"""Training: `train_and_evaluate`, the loop, its periodic actions (progress, grids, checkpoints,
evaluation, profiling, finiteness), GAN health warnings, stop signals and fault points for tests.

The top layer: it may import every other part of jaxgan, and nothing of jaxgan imports it.
"""
