"""The GAN itself: its state pytree, static spec, losses, regularisers, the pure update, the jitted
step functions (on resident or streamed data) and sampling.

Everything here is a pure function of explicit pytrees. It may import `jaxgan.models`,
`jaxgan.data` and the base modules, never configs' schema, runs, evaluation or training.
"""
