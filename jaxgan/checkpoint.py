"""Checkpoints of the GAN state with orbax: save, keep the last few, restore against an abstract state."""

import os
from typing import Any

import jax
import orbax.checkpoint as ocp

from jaxgan.errors import CheckpointError
from jaxgan.state import GANState


def abstract_state(state: GANState) -> GANState:
  """The state's jax.ShapeDtypeStruct twin (with shardings): the target a restore fills in."""
  return jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), state)


def _key_name(key) -> str:
  for attr in ("key", "name", "idx"):
    if hasattr(key, attr):
      return str(getattr(key, attr))
  return str(key)


def _leaf_shapes(tree) -> dict[str, tuple]:
  """{"g_params/linears/0/kernel": (shape, dtype)}; keys are strings whatever the tree node types."""
  leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
  return {"/".join(_key_name(k) for k in path): (tuple(leaf.shape), str(leaf.dtype))
          for path, leaf in leaves}


def _mismatch(expected: dict[str, tuple], found: dict[str, tuple]) -> str | None:
  """A short description of the first difference between two leaf-shape maps, or None."""
  for name in sorted(expected.keys() | found.keys()):
    if name not in found:
      return f"{name} is missing from the checkpoint"
    if name not in expected:
      return f"the checkpoint has {name}, which the config's model lacks"
    if expected[name] != found[name]:
      (es, ed), (fs, fd) = expected[name], found[name]
      return f"{name} is {fd}{list(fs)} in the checkpoint but {ed}{list(es)} for the config"
  return None


class Checkpoints:
  """The checkpoints of one run directory.

  Saves are asynchronous; `wait()` (and `close()`) block until they are on disk and re-raise a failed
  save, so a caller that waits never continues past a lost checkpoint.
  """

  def __init__(self, directory: str, *, keep: int | None = None, create: bool = True):
    self.directory = os.path.abspath(directory)
    self._manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=create),
        item_handlers=ocp.StandardCheckpointHandler())

  def all_steps(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def save(self, state: GANState, step: int, run_info: dict[str, Any]) -> None:
    """Starts saving `state` as `step`, with `run_info` (JSON) stored beside it."""
    self._manager.save(step, args=ocp.args.StandardSave(state), custom_metadata=run_info)

  def run_info(self, step: int) -> dict[str, Any]:
    """The `run_info` saved with `step`."""
    return dict(self._manager.metadata(step).custom_metadata or {})

  def resolve_step(self, step: int | None) -> int:
    """`step` if it was saved, the latest step when None; CheckpointError otherwise."""
    steps = self.all_steps()
    if not steps:
      raise CheckpointError(f"no checkpoint in {self.directory}")
    if step is None:
      return steps[-1]
    if step not in steps:
      raise CheckpointError(f"no checkpoint at step {step} in {self.directory} (found steps {steps})")
    return step

  def restore(self, target: GANState, step: int | None = None) -> GANState:
    """Restores `step` (the latest when None) into the structure, shapes and shardings of `target`.

    `target` is a state or its `abstract_state`. A checkpoint whose leaves differ from it (another model
    or other shapes) raises CheckpointError naming the first difference.
    """
    step = self.resolve_step(step)
    found = _leaf_shapes(self._manager.item_metadata(step))
    problem = _mismatch(_leaf_shapes(target), found)
    if problem:
      raise CheckpointError(
          f"the checkpoint at step {step} in {self.directory} does not fit the config: {problem}; "
          "use another workdir or the config it was trained with")
    return self._manager.restore(step, args=ocp.args.StandardRestore(abstract_state(target)))

  def wait(self) -> None:
    """Blocks until pending saves are written; re-raises a save's error."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()
