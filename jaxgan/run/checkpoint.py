"""Checkpoints of the GAN state with orbax: atomic saves, a fallback past a broken step, SIGTERM.

orbax writes each step into `STEP.orbax-checkpoint-tmp` and renames it when complete, so a process
killed mid-save leaves only that temporary folder, which the next `Checkpoints` removes. What orbax
leaves to its caller is handled here: it trusts step folder names (`restore` falls back past a step
that does not restore), and its background save errors surface only when waited for (`save`, `wait`
and `close` raise them as one-line CheckpointErrors). It knows the state pytree only;
`jaxgan.run.restore` rebuilds a run from its workdir.
"""

import dataclasses
import logging
import os
import re
import shutil
import sys
import time
from typing import Any

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp

from jaxgan.core.state import GANState
from jaxgan.errors import CheckpointError

log = logging.getLogger(__name__)

UNRESTORABLE_SUFFIX = ".unrestorable"  # A step folder that failed to restore is renamed STEP + this.
OPEN_ATTEMPTS = 5  # Opens of a checkpoint folder that a training run may be writing.


class CheckpointRequestError(CheckpointError):
  """The checkpoint that flags or config ask for does not exist or does not fit the config."""
  exit_code = 2


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


@jax.jit
def _finite_flags(leaves: list[jax.Array]) -> jax.Array:
  return jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves])


def _nonfinite_leaves(tree) -> list[str]:
  """Names of the floating-point leaves of `tree` holding a NaN or an infinity."""
  leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
  floats = [(path, x) for path, x in leaves if jnp.issubdtype(x.dtype, jnp.floating)]
  finite = jax.device_get(_finite_flags([x for _, x in floats]))
  return ["/".join(_key_name(k) for k in path) for (path, _), ok in zip(floats, finite) if not ok]


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


def _reason(error: BaseException) -> str:
  """A short one-line reason for a failed save or restore: the OS error when there is one."""
  text = str(error)
  code = re.search(r"os_error_code='?(\d+)", text)
  if code:
    return f"{os.strerror(int(code.group(1)))} (errno {code.group(1)})"
  if isinstance(error, OSError) and error.strerror:
    return f"{error.strerror} (errno {error.errno})"
  first = next((line.strip() for line in text.splitlines() if line.strip()), "")
  return f"{type(error).__name__}: {first[:200]}"


class Checkpoints:
  """The checkpoints of one run directory.

  Saves are asynchronous; `wait()` (and `close()`) block until they are on disk and raise a failed
  save as a CheckpointError, so a caller that waits never continues past a lost checkpoint. Opening
  the directory removes the temporary folders of saves that never completed.
  """

  def __init__(self, directory: str, *, keep: int | None = None, create: bool = True):
    self.directory = os.path.abspath(directory)
    self._pending: int | None = None  # The step being saved in the background.
    self._failed = False
    if os.path.exists(self.directory) and not os.path.isdir(self.directory):
      raise CheckpointRequestError(f"checkpoint folder {self.directory} is a file")
    for attempt in range(OPEN_ATTEMPTS):
      try:
        self._manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=create,
                                                 cleanup_tmp_directories=create),
            item_handlers=ocp.StandardCheckpointHandler())
        break
      except (OSError, ValueError) as e:
        # A reader (generate, evaluate) can list the folder while a training run renames a
        # finished save into place; it opens the folder again.
        if create or attempt == OPEN_ATTEMPTS - 1 or not os.path.isdir(self.directory):
          raise CheckpointError(
              f"cannot open checkpoint folder {self.directory}: {_reason(e)}") from e
        time.sleep(0.2)

  def all_steps(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def save(self, state: GANState, step: int, run_info: dict[str, Any]) -> None:
    """Starts saving `state` as `step`, with `run_info` (JSON) stored beside it.

    Raises:
      CheckpointError: `state` holds a NaN or an infinity (nothing is saved), or an earlier save
        failed.
    """
    bad = _nonfinite_leaves(state)
    if bad:
      raise CheckpointError(f"not saving step {step} in {self.directory}: the state is not finite "
                            f"in {', '.join(bad[:3])}; the earlier checkpoints are kept")
    self._raise_on_failure(lambda: self._manager.save(
        step, args=ocp.args.StandardSave(state), custom_metadata=run_info))
    self._pending = step

  def _raise_on_failure(self, fn) -> None:
    try:
      fn()
    except Exception as e:  # orbax and tensorstore raise many types (ValueError for ENOSPC).
      self._failed = True
      step = f" of step {self._pending}" if self._pending is not None else ""
      kept = [s for s in self.all_steps() if s != self._pending]
      raise CheckpointError(
          f"cannot save the checkpoint{step} in {self.directory}: {_reason(e)}; the complete "
          f"checkpoints (steps {kept}) are intact, and a rerun resumes from the latest") from e

  def run_info(self, step: int) -> dict[str, Any]:
    """The `run_info` saved with `step`; CheckpointError when its metadata cannot be read."""
    try:
      return dict(self._manager.metadata(step).custom_metadata or {})
    except Exception as e:  # Any failure to read a step folder means it is broken.
      raise CheckpointError(f"cannot read {os.path.join(self.directory, str(step))}: "
                            f"{_reason(e)}") from e

  def resolve_step(self, step: int | None) -> int:
    """`step` if it was saved, the latest step when None; CheckpointError otherwise."""
    steps = self.all_steps()
    if not steps:
      raise CheckpointError(f"no checkpoint in {self.directory}")
    if step is None:
      return steps[-1]
    if step not in steps:
      raise CheckpointRequestError(
          f"no checkpoint at step {step} in {self.directory} (found steps {steps})")
    return step

  def _restore_step(self, target: GANState, step: int) -> GANState:
    metadata = self._manager.item_metadata(step)
    problem = _mismatch(_leaf_shapes(target), _leaf_shapes(metadata))
    if problem:
      raise CheckpointRequestError(
          f"the checkpoint at step {step} in {self.directory} does not fit the config: {problem}; "
          "use another workdir or the config it was trained with")
    # A field added to the state after the checkpoint was written is None when its feature is off.
    fields = [f.name for f in dataclasses.fields(GANState)]
    absent = [name for name in fields if name not in metadata and getattr(target, name) is None]
    abstract = abstract_state(target)
    item = {name: getattr(abstract, name) for name in fields if name not in absent}
    restored = self._manager.restore(step, args=ocp.args.StandardRestore(item))
    return GANState(**restored, **dict.fromkeys(absent))

  def restore(self, target: GANState, step: int | None = None, *,
              set_aside_broken: bool = False) -> GANState:
    """Restores `step` into the structure, shapes and shardings of `target`.

    `target` is a state or its `abstract_state`. With `step` None, restores the newest step that
    restores: a broken one (an empty folder, missing array files, unreadable metadata) gets a
    one-line warning on stderr and is skipped; with `set_aside_broken` it is also renamed
    STEP.unrestorable, so that training can save that step again.

    Raises:
      CheckpointRequestError: `step` was not saved, or a checkpoint differs from `target` (another
        model or other shapes; names the first difference).
      CheckpointError: no checkpoint, or none that restores (names the folder).
    """
    if step is not None:
      step = self.resolve_step(step)
      try:
        return self._restore_step(target, step)
      except CheckpointError:
        raise
      except Exception as e:  # Any failure to read a step folder means it is broken.
        raise CheckpointError(f"cannot restore {os.path.join(self.directory, str(step))}: "
                              f"{_reason(e)}") from e
    steps = self.all_steps()
    if not steps:
      raise CheckpointError(f"no checkpoint in {self.directory}")
    restored = None
    for newer, older in zip(steps[::-1], steps[-2::-1] + [None]):
      try:
        restored = self._restore_step(target, newer)
        break
      except CheckpointError:
        raise
      except Exception as e:  # Any failure to read a step folder means it is broken.
        folder = os.path.join(self.directory, str(newer))
        then = f"falling back to step {older}" if older is not None else "no older step"
        reason = "an empty folder" if not os.listdir(folder) else _reason(e)
        if jax.process_index() == 0:
          log.warning("checkpoint %s cannot be restored (%s); %s", folder, reason, then)
        if set_aside_broken and jax.process_index() == 0:
          shutil.rmtree(folder + UNRESTORABLE_SUFFIX, ignore_errors=True)
          os.rename(folder, folder + UNRESTORABLE_SUFFIX)
    if set_aside_broken:
      self._manager.reload()
    if restored is not None:
      return restored
    raise CheckpointError(f"no checkpoint in {self.directory} can be restored (steps {steps} are "
                          "broken); move that folder away to train from scratch")

  def wait(self) -> None:
    """Blocks until pending saves are written; raises a failed save as a CheckpointError."""
    self._raise_on_failure(self._manager.wait_until_finished)
    self._pending = None

  def close(self) -> None:
    """Waits for pending saves and releases orbax; a failed save raises unless already raised."""
    if self._failed:
      try:
        self._manager.close()
      except Exception:  # pylint: disable=broad-except  (its error was raised once already)
        pass
      return
    self._raise_on_failure(self._manager.close)

  def reached_preemption(self, step: int) -> bool:
    """True when every process of a multi-process run has agreed to stop at `step` (JAX's
    preemption service, which catches SIGTERM there); False in a single-process run."""
    return jax.process_count() > 1 and self._manager.reached_preemption(step)

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()


def ignore_closed_loop_callbacks() -> None:
  """After a broken checkpoint fails to restore or a save fails, orbax's other pending I/O still
  calls back into its asyncio loop, closed by then, and Python prints each `Event loop is closed`
  as an unraisable exception; this drops those (the failure was reported in one line), and only
  those."""
  default_hook = sys.unraisablehook

  def hook(unraisable):
    if not (unraisable.exc_type is RuntimeError and
            str(unraisable.exc_value) == "Event loop is closed"):
      default_hook(unraisable)

  sys.unraisablehook = hook
