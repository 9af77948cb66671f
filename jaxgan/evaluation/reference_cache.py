"""The evaluator's real reference (`classifier.RealReference`) and its baselines, cached on disk.

`classifier.make_reference` runs the evaluator over the 10k test and 10k held-out images and finds
each test image's k-th nearest neighbour, and each `real_baseline` computes every metric of N
held-out images: seconds on a CPU, in every run that evaluates and every `evaluate`. They are kept
in `disk_cache.cache_dir()/reference/`: KEY.npz holds the reference's arrays and
KEY.baselines.json each baseline computed so far. KEY is the sha256 of everything they are
computed from: the evaluator's weights, both image sets, the code of `classifier` and
`feature_metrics`, JAX's and numpy's versions and JAX's backend. A missing or damaged file is
computed and written again; a folder that cannot be written costs a warning and the computation.
"""

import hashlib
import json
import logging
import pathlib

import flax.serialization
import jax
import numpy as np

from jaxgan.evaluation import classifier, disk_cache, feature_metrics

ARRAYS = ("test_features", "test_sq_radii", "heldout_features", "heldout_logits")

_log = logging.getLogger("jaxgan")


def reference_path(evaluator: classifier.Evaluator, test_images_NxHxWxC: np.ndarray,
                   heldout_images_MxHxWxC: np.ndarray) -> pathlib.Path:
  """The cache file of `make_reference(evaluator, test, heldout)`, named by its inputs' sha256."""
  digest = hashlib.sha256(f"{jax.__version__} {np.__version__} {jax.default_backend()}".encode())
  for module in (classifier, feature_metrics):
    digest.update(pathlib.Path(module.__file__).read_bytes())
  digest.update(flax.serialization.msgpack_serialize(jax.tree.map(np.asarray, evaluator.params)))
  for images in (test_images_NxHxWxC, heldout_images_MxHxWxC):
    images = np.ascontiguousarray(images)
    digest.update(f"{images.dtype.str} {images.shape}".encode())
    digest.update(images.data)
  return disk_cache.cache_dir() / "reference" / f"{digest.hexdigest()[:32]}.npz"


class StoredBaselines(dict):
  """`RealReference.baselines` ((N, kid_subsets) -> metrics) that writes each new entry, with
  those it read, to a JSON file."""

  def __init__(self, path: pathlib.Path):
    super().__init__()
    self.path = path
    if not path.is_file():
      return
    try:
      records = json.loads(path.read_text())
      super().update({(r["num"], r["kid_subsets"]): r["metrics"] for r in records})
    except (OSError, ValueError, TypeError, KeyError):
      _log.warning("%s: unreadable cached real baselines, computed again", path)

  def __setitem__(self, key: tuple[int, int], metrics: dict[str, float]):
    super().__setitem__(key, metrics)
    records = [dict(num=num, kid_subsets=subsets, metrics=m) for (num, subsets), m in self.items()]
    try:
      disk_cache.write_atomically(self.path, lambda f: f.write(json.dumps(records).encode()))
    except OSError as e:
      _log.warning("cannot cache the real baselines in %s: %s", self.path.parent, e.strerror or e)


def cached_reference(evaluator: classifier.Evaluator, test_images_NxHxWxC: np.ndarray,
                     heldout_images_MxHxWxC: np.ndarray) -> classifier.RealReference:
  """`classifier.make_reference`, read from the cache if it is there, else computed and cached;
  its baselines are read from and added to the cache as `real_baseline` computes them."""
  path = reference_path(evaluator, test_images_NxHxWxC, heldout_images_MxHxWxC)
  baselines = path.with_suffix(".baselines.json")
  arrays = disk_cache.load_npz(path)
  if (arrays is not None and set(ARRAYS) <= arrays.keys()
      and len(arrays["test_features"]) == len(arrays["test_sq_radii"]) == len(test_images_NxHxWxC)
      and len(arrays["heldout_features"]) == len(heldout_images_MxHxWxC)):
    return classifier.RealReference(*(arrays[name] for name in ARRAYS), StoredBaselines(baselines))
  if path.exists():
    _log.warning("%s: unreadable cached real reference, computed again", path)
  reference = classifier.make_reference(evaluator, test_images_NxHxWxC, heldout_images_MxHxWxC)
  try:
    disk_cache.save_npz(path, {name: getattr(reference, name) for name in ARRAYS})
  except OSError as e:
    _log.warning("cannot cache the real reference in %s: %s", path.parent, e.strerror or e)
  reference.baselines = StoredBaselines(baselines)  # Valid even beside a damaged reference file.
  return reference
