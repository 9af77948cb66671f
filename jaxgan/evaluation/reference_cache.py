"""The evaluator's real reference (`classifier.RealReference`), cached on disk.

`classifier.make_reference` runs the evaluator over the 10k test and 10k held-out images and finds
each test image's k-th nearest neighbour: seconds on a CPU, at the start of every run that
evaluates and of every `evaluate`. Its arrays are kept in `disk_cache.cache_dir()/reference/`, one
.npz per key: the sha256 of the evaluator's weights, of both image sets and of what computes
them (`FORMAT`, JAX's version and backend). A missing or damaged file is computed and written
again; a folder that cannot be written costs a warning and the computation.
"""

import hashlib
import logging
import pathlib

import flax.serialization
import jax
import numpy as np

from jaxgan.evaluation import classifier, disk_cache

FORMAT = 1  # Raise it when make_reference computes other arrays from the same inputs.
ARRAYS = ("test_features", "test_sq_radii", "heldout_features", "heldout_logits")

_log = logging.getLogger("jaxgan")


def reference_path(evaluator: classifier.Evaluator, test_images_NxHxWxC: np.ndarray,
                   heldout_images_MxHxWxC: np.ndarray) -> pathlib.Path:
  """The cache file of `make_reference(evaluator, test, heldout)`, named by its inputs' sha256."""
  digest = hashlib.sha256(f"{FORMAT} {jax.__version__} {jax.default_backend()}".encode())
  digest.update(flax.serialization.msgpack_serialize(jax.tree.map(np.asarray, evaluator.params)))
  for images in (test_images_NxHxWxC, heldout_images_MxHxWxC):
    images = np.ascontiguousarray(images)
    digest.update(f"{images.dtype.str} {images.shape}".encode())
    digest.update(images.data)
  return disk_cache.cache_dir() / "reference" / f"{digest.hexdigest()[:32]}.npz"


def cached_reference(evaluator: classifier.Evaluator, test_images_NxHxWxC: np.ndarray,
                     heldout_images_MxHxWxC: np.ndarray) -> classifier.RealReference:
  """`classifier.make_reference`, read from the cache if it is there, else computed and cached."""
  path = reference_path(evaluator, test_images_NxHxWxC, heldout_images_MxHxWxC)
  arrays = disk_cache.load_npz(path)
  if (arrays is not None and set(ARRAYS) <= arrays.keys()
      and len(arrays["test_features"]) == len(arrays["test_sq_radii"]) == len(test_images_NxHxWxC)
      and len(arrays["heldout_features"]) == len(heldout_images_MxHxWxC)):
    return classifier.RealReference(*(arrays[name] for name in ARRAYS))
  if path.exists():
    _log.warning("%s: unreadable cached real reference, computed again", path)
  reference = classifier.make_reference(evaluator, test_images_NxHxWxC, heldout_images_MxHxWxC)
  try:
    disk_cache.save_npz(path, {name: getattr(reference, name) for name in ARRAYS})
  except OSError as e:
    _log.warning("cannot cache the real reference in %s: %s", path.parent, e.strerror or e)
  return reference
