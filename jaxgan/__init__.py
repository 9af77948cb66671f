"""jaxgan: train, sample and evaluate GANs with JAX and Flax.

    import jaxgan

    config = jaxgan.preset("dcgan")             # an ml_collections.ConfigDict
    config.num_steps = 500
    jaxgan.train_and_evaluate(config, "runs/dcgan")
    images = jaxgan.generate("runs/dcgan", num=64)          # uint8 64x28x28x1
    metrics = jaxgan.evaluate("runs/dcgan", num=2000)       # FCD, KID, precision, recall, ...
    sevens = jaxgan.generate(pretrained_name="mnist_cgan", num=16, label=7, truncation=0.8)

The names load on first use, so `import jaxgan` alone starts no JAX work.
"""

import importlib

_API = {
    "preset": "jaxgan.api", "validate": "jaxgan.api", "train_and_evaluate": "jaxgan.api",
    "generate": "jaxgan.api", "evaluate": "jaxgan.api",
    "Sampler": "jaxgan.core.sampling", "load_pretrained": "jaxgan.run.pretrained",
}
__all__ = sorted(_API)


def __getattr__(name: str):
  if name not in _API:
    raise AttributeError(f"module 'jaxgan' has no attribute {name!r}")
  module = importlib.import_module(_API[name])
  return getattr(module, "load" if name == "load_pretrained" else name)
