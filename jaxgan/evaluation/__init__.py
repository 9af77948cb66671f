"""Sample quality: feature metrics (Fréchet distance, KID, score, class KL, precision/recall), the
per-dataset classifier evaluators, and the evaluation of a generator's samples against real data.

It may import `jaxgan.core` (to draw samples), `jaxgan.data` (for the real images) and the base
modules; never runs' workdirs or the training loop.
"""
