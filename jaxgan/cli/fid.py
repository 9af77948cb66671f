"""FID, KID, Inception Score and precision/recall of two image sets, as pytorch-fid and clean-fid
compute them (pytorch-fid's Inception weights, clean-fid's resize):

  jaxgan fid REAL FAKE [--fid_weights=PATH] [--batch_size=50]
  python -m experiments.fid REAL FAKE ...  (in a checkout)

REAL and FAKE are each a folder of PNG/JPEG images (searched recursively) or a .npy array (uint8
NxHxWxC or NxHxW). Prints one JSON line: fid, kid and kid_std, precision and recall (of FAKE
against REAL; null with 3 images or fewer in a set), is_real/is_fake and their std, num_real and
num_fake. Each set's statistics are cached next to it, keyed by the sha256 of its images.

The weights come from the cache, else from --fid_weights=PATH (pytorch-fid's
pt_inception-2015-12-05-6726825d.pth brought by hand), else are downloaded once
($JAXGAN_FID_WEIGHTS_URL overrides the address); see docs/fid.md.
"""

import json

from absl import flags

from jaxgan.cli import entry
from jaxgan.errors import ConfigError
from jaxgan.evaluation.inception import features, metrics

_WEIGHTS = flags.DEFINE_string("fid_weights", None, "pytorch-fid's Inception .pth file, brought by "
                               "hand (default: the cache, else a download).")
_BATCH = flags.DEFINE_integer("batch_size", 50, "Images per batch through the network.")
_KID_SUBSETS = flags.DEFINE_integer("kid_subsets", 100, "Random subsets the KID is averaged over.")
_KID_SUBSET_SIZE = flags.DEFINE_integer("kid_subset_size", 1000, "Images per KID subset (capped "
                                        "at the smaller set's size).")
_CACHE = flags.DEFINE_boolean("cache_stats", True, "Read and write each set's cached statistics.")

USAGE = "jaxgan fid REAL FAKE [--fid_weights=PATH] [--batch_size=50]"


def main(paths: list[str]):
  if len(paths) != 2:
    raise ConfigError(f"expected two image sets (folders or .npy files), got {len(paths)}: "
                      f"{USAGE}")
  for name, flag in (("batch_size", _BATCH), ("kid_subsets", _KID_SUBSETS),
                     ("kid_subset_size", _KID_SUBSET_SIZE)):
    if flag.value < (2 if name == "kid_subset_size" else 1):
      raise ConfigError(f"--{name}: got {flag.value}, expected an integer >= "
                        f"{2 if name == 'kid_subset_size' else 1}")
  sources = [features.open_source(path) for path in paths]  # Bad paths fail before any work.
  extractor = features.Extractor.load(_WEIGHTS.value, batch_size=_BATCH.value)
  real, fake = (metrics.source_stats(source, extractor, cache=_CACHE.value) for source in sources)
  result = metrics.compare(real, fake, kid_subsets=_KID_SUBSETS.value,
                           kid_subset_size=_KID_SUBSET_SIZE.value)
  print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
  entry.run(main, positional=True)
