"""jaxgan: GANs in JAX/Flax, from the classic MNIST tutorial to DCGAN and beyond."""

__version__ = "0.1.0"
