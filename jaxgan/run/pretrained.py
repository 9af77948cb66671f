"""Pretrained generators shipped in jaxgan/weights/: export a run's sampling generator, load it, sample.

  >>> from jaxgan import pretrained
  >>> sevens = pretrained.sample("mnist_cgan", num=16, label=7)  # uint8 16x28x28x1

A pretrained generator is NAME.msgpack (the sampling weights, EMA when the run kept one, and their
standing BatchNorm statistics) beside NAME.json (its sha256, the run's config and run_info, the
command that trained it and its measured quality).
"""

import json
import os

import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxgan import rng
from jaxgan.core import gan, sampling
from jaxgan.core.state import GANState
from jaxgan.errors import ConfigError, JaxganError
from jaxgan.evaluation import classifier
from jaxgan.run import restore
from jaxgan.run import workdir as workdir_lib

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "weights")
NAMES = ("mnist_dcgan", "mnist_cgan", "fashion_dcgan", "fashion_cgan")


def export(workdir: str, name: str, *, command: str, metrics: dict, best: bool = True,
           directory: str = WEIGHTS_DIR) -> str:
  """Writes the run's generator as `name` in `directory`; returns the .msgpack path."""
  config, state, spec = restore.restore_run(workdir, best=best)
  g_params, g_batch_stats = state.sampling_params(), state.g_batch_stats
  if config.sampling == "standing" and jax.tree.leaves(g_batch_stats):
    g_batch_stats = sampling.standing_stats(spec, g_params, g_batch_stats,
                                            rng.stream_key(config.seed, rng.STANDING))
  weights_path = os.path.join(directory, f"{name}.msgpack")
  with open(weights_path, "wb") as f:
    f.write(flax.serialization.msgpack_serialize(
        jax.device_get(dict(g_params=g_params, g_batch_stats=g_batch_stats))))
  config.data.idx_dir = config.data.tfds_data_dir = ""  # No machine paths in the package.
  info = dict(file=os.path.basename(weights_path), sha256=classifier.sha256_of(weights_path),
              config=config.to_dict(), image_shape=list(_image_shape(spec, g_params, g_batch_stats)),
              num_classes=spec.num_classes,
              label_prior=None if spec.label_prior is None else list(spec.label_prior),
              step=int(state.step), command=command, metrics=metrics)
  with open(os.path.join(directory, f"{name}.json"), "w") as f:
    json.dump(info, f, indent=2, default=float)
    f.write("\n")
  return weights_path


def _image_shape(spec: gan.GANSpec, g_params, g_batch_stats) -> tuple[int, ...]:
  images, _ = spec.generate(g_params, g_batch_stats, jnp.zeros((1, spec.latent_dim)),
                            jnp.zeros((1,), jnp.int32) if spec.num_classes else None)
  return tuple(images.shape[1:])


def load(name: str, directory: str = WEIGHTS_DIR) -> tuple[ml_collections.ConfigDict, GANState,
                                                           gan.GANSpec]:
  """(config, state, spec) of a pretrained generator; the state holds only its sampling weights.

  Raises:
    ConfigError: no pretrained generator has that name.
    JaxganError: its files are missing or do not match their recorded sha256.
  """
  if name not in NAMES:
    raise ConfigError(f"--pretrained: got {name!r}, expected one of {', '.join(NAMES)}")
  info_path, weights_path = (os.path.join(directory, f"{name}{ext}") for ext in (".json", ".msgpack"))
  if not (os.path.exists(info_path) and os.path.exists(weights_path)):
    raise JaxganError(f"pretrained generator {name} not found in {directory}")
  with open(info_path) as f:
    info = json.load(f)
  found = classifier.sha256_of(weights_path)
  if found != info["sha256"]:
    raise JaxganError(f"{weights_path}: sha256 {found} does not match {info['sha256']} in "
                      f"{os.path.basename(info_path)}")
  config = workdir_lib.config_from_saved(info["config"])
  config.sampling = "running"  # The stored statistics are the standing ones already.
  prior = info["label_prior"]
  abstract, spec = gan.init_state_compiled(config, info["image_shape"], info["num_classes"],
                                           abstract=True,
                                           label_prior=None if prior is None else tuple(prior))
  with open(weights_path, "rb") as f:
    weights = jax.tree.map(jnp.asarray, flax.serialization.msgpack_restore(f.read()))
  state = abstract.replace(step=jnp.asarray(info["step"], jnp.int32), ema_params=None,
                           g_params=weights["g_params"], g_batch_stats=weights["g_batch_stats"])
  return config, state, spec


def sample(name: str, num: int = 64, *, seed: int = 0, label: int | None = None,
           truncation: float = 0.0) -> np.ndarray:
  """`num` uint8 images_NxHxWxC of pretrained generator `name` (class `label` when conditional;
  `truncation` > 0: the truncation trick, `sampling.latents`)."""
  config, state, spec = load(name)
  key = jax.random.PRNGKey(seed)
  inputs = sampling.asked_inputs(spec, key, num, label, truncation)
  return sampling.generate(spec, state, *inputs, mode=config.sampling)
