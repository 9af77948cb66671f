"""pytorch-fid's state dict (name -> numpy array) <-> the Flax network's params and batch stats.

A torch name is the Flax path with the top-level module capitalised
(`Mixed_5b.branch1x1.conv.weight` <-> `mixed_5b/branch1x1/conv/kernel`). Convolutions go from OIHW
to HWIO, the fc weight is transposed, and BatchNorm's weight/bias/running_mean/running_var become
scale/bias (params) and mean/var (batch stats). `num_batches_tracked` counters are accepted and
ignored.
"""

import functools
from collections.abc import Mapping

import jax
import numpy as np
from flax import nnx

from jaxgan.errors import DataError
from jaxgan.evaluation.inception import model

COUNTER = "num_batches_tracked"
_BN_PARAMS = {"weight": "scale", "bias": "bias"}
_BN_STATS = {"running_mean": "mean", "running_var": "var"}


def _torch_module_name(path: tuple[str, ...]) -> str:
  top = path[0]
  for prefix in ("conv2d_", "mixed_"):
    if top.startswith(prefix):
      top = prefix.capitalize() + top[len(prefix):]
  return ".".join((top, *path[1:]))


def _conv_bn_paths(module: nnx.Module, path: tuple[str, ...] = ()):
  """(path, ConvBN) of every conv layer of a freshly built `module`, in definition order."""
  for name, child in vars(module).items():
    if isinstance(child, model.ConvBN):
      yield (*path, name), child
    elif isinstance(child, nnx.Module):
      yield from _conv_bn_paths(child, (*path, name))


@functools.cache
def _conv_kernel_shapes() -> tuple[tuple[tuple[str, ...], tuple[int, ...]], ...]:
  """(path, HWIO kernel shape) of every conv layer in definition order (= torch's state-dict order).

  The network is built under `jax.eval_shape`, so no weights are made; the order is read from the
  fresh modules' attributes (a split/merge round trip would sort them).
  """
  found = []

  def build():
    net = model.InceptionV3(rngs=nnx.Rngs(0))
    found.extend((path, tuple(layer.conv.kernel.shape)) for path, layer in _conv_bn_paths(net))

  jax.eval_shape(build)
  return tuple(found)


def torch_shapes(with_counters: bool = True) -> dict[str, tuple[int, ...]]:
  """pytorch-fid's state-dict names and shapes, in its order (566 entries with the counters)."""
  shapes = {}
  for path, (kh, kw, cin, cout) in _conv_kernel_shapes():
    name = _torch_module_name(path)
    shapes[f"{name}.conv.weight"] = (cout, cin, kh, kw)
    for kind in ("weight", "bias", "running_mean", "running_var"):
      shapes[f"{name}.bn.{kind}"] = (cout,)
    if with_counters:
      shapes[f"{name}.bn.{COUNTER}"] = ()
  shapes["fc.weight"] = (model.NUM_LOGITS, model.POOL_DIM)
  shapes["fc.bias"] = (model.NUM_LOGITS,)
  return shapes


def _set(tree: dict, path: list[str], value: np.ndarray) -> None:
  for key in path[:-1]:
    tree = tree.setdefault(key, {})
  tree[path[-1]] = value


def to_flax(state_dict: Mapping[str, np.ndarray]) -> tuple[dict, dict]:
  """(params, batch_stats) as nested dicts of float32 arrays, from pytorch-fid's state dict.

  Raises:
    DataError: a key is missing or unknown, or an array has the wrong shape (one line naming it).
  """
  expected = torch_shapes(with_counters=False)
  missing = [k for k in expected if k not in state_dict]
  unknown = [k for k in state_dict if k not in expected and not k.endswith(f".bn.{COUNTER}")]
  if missing or unknown:
    which = f"key {missing[0]} is missing" if missing else f"unknown key {unknown[0]}"
    raise DataError(f"not pytorch-fid's Inception state dict: {which} "
                    f"({len(missing)} missing, {len(unknown)} unknown)")
  params, stats = {}, {}
  for name, shape in expected.items():
    value = np.asarray(state_dict[name])
    if value.shape != shape:
      raise DataError(f"Inception state dict key {name}: shape {value.shape}, expected {shape}")
    value = value.astype(np.float32)
    module, kind = name.rsplit(".", 1)
    path = module.lower().split(".")
    if name == "fc.weight":
      _set(params, ["fc", "kernel"], value.T)
    elif name == "fc.bias":
      _set(params, ["fc", "bias"], value)
    elif path[-1] == "conv":
      _set(params, path + ["kernel"], value.transpose(2, 3, 1, 0))
    elif kind in _BN_PARAMS:
      _set(params, path + [_BN_PARAMS[kind]], value)
    else:
      _set(stats, path + [_BN_STATS[kind]], value)
  return params, stats


def to_states(params: dict, batch_stats: dict) -> tuple[nnx.GraphDef, nnx.State, nnx.State]:
  """(graphdef, params, batch_stats) for `model.apply`, from the nested dicts of `to_flax`."""
  graphdef, param_state, stat_state = model.abstract_split()
  nnx.replace_by_pure_dict(param_state, params)
  nnx.replace_by_pure_dict(stat_state, batch_stats)
  return graphdef, param_state, stat_state


def flatten(tree: dict, prefix: str = "") -> dict[str, np.ndarray]:
  """{"a/b/c": array} from a nested dict (the .npz cache's layout)."""
  flat = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      flat.update(flatten(value, f"{prefix}{key}/"))
    else:
      flat[f"{prefix}{key}"] = value
  return flat


def unflatten(flat: Mapping[str, np.ndarray]) -> dict:
  """Inverse of `flatten`."""
  tree = {}
  for key, value in flat.items():
    _set(tree, key.split("/"), value)
  return tree
