"""The independent random streams of a run, each folded out of PRNGKey(config.seed).

Every random draw of the project comes from one of these, so a draw is a pure function of the seed,
the stream and (for per-step streams) the step: the same whether or not the run was resumed.
"""

import jax

INIT = 0  # Model initialisation.
DATA = 1  # The order of each epoch: fold_in(DATA stream, epoch).
NOISE = 2  # The generator's noise in training: fold_in(NOISE stream, step).
SAMPLE = 3  # The fixed noise of the sample grids.
EVAL = 4  # The noise of evaluation samples: the same for every evaluation of a run.
STANDING = 5  # The noise that standing BatchNorm statistics are computed on.
SPECTRAL = 6  # The initial vectors of the discriminator's spectral normalisation.
CLUSTERS = 7  # The initial centroids of self-conditioning's k-means (jaxgan.data.clusters).


def stream_key(seed_or_key: int | jax.Array, stream: int) -> jax.Array:
  """The key of one stream: fold_in(PRNGKey(seed), stream), or fold_in(key, stream) for a key."""
  key = jax.random.PRNGKey(seed_or_key) if isinstance(seed_or_key, int) else seed_or_key
  return jax.random.fold_in(key, stream)
