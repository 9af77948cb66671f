"""Data: the images a GAN trains on and is evaluated against, from any source to the device.

Owns the sources (TFDS online and offline, IDX files, image folders), whole splits as uint8 arrays,
random-access reading and grain streaming, on-device epoch orders and batch gathers, pixel ranges,
and the labels a GAN trains on (classes, k-means clusters, class sub-clusters). It may import the
base modules (`jaxgan.errors`, `jaxgan.rng`, `jaxgan.parallel`) and nothing else of jaxgan: it never
builds a training step or reads a run's workdir.
"""
