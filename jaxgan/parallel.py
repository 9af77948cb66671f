"""Device mesh, shardings and multi-host start-up: the batch split along the mesh's `data` axis,
everything else replicated, over every device of every process.

Data parallelism is plain `jax.jit` with shardings (no pmap): the train step's batch is constrained to
`batch_sharding`, the state is `replicated`, and XLA inserts the cross-device reductions. A mean over
the batch axis (BatchNorm statistics, losses, gradients) is therefore over the global batch, whatever
the number of devices or processes.
"""

import os
import threading
import traceback

import jax
import numpy as np
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxgan.errors import ConfigError, JaxganError, StartupError

DATA_AXIS = "data"

# XLA:CPU aborts a collective that some device has not joined after 40 s. Simulated CPU devices share
# the host's few cores, and on a loaded machine one device's thread can join that late. Past 300 s a
# device is taken to be hung (seen under heavy load: its thread idle), and the run aborts. The flags
# apply to XLA:CPU's collectives only.
CPU_COLLECTIVE_TIMEOUTS = {
    "xla_cpu_collective_call_warn_stuck_timeout_seconds": 120,
    "xla_cpu_collective_call_terminate_timeout_seconds": 300,
}


def relax_cpu_collective_timeouts() -> None:
  """Adds CPU_COLLECTIVE_TIMEOUTS to XLA_FLAGS, each unless XLA_FLAGS sets it already; call before
  JAX's first computation (XLA reads the flags when it starts its backends)."""
  xla_flags = os.environ.get("XLA_FLAGS", "")
  missing = [f"--{name}={value}" for name, value in CPU_COLLECTIVE_TIMEOUTS.items()
             if f"--{name}=" not in xla_flags]
  os.environ["XLA_FLAGS"] = " ".join([xla_flags, *missing]).strip()


def enable_compilation_cache() -> None:
  """Keeps compiled XLA programs across runs in JAX's persistent cache (JAX_COMPILATION_CACHE_DIR,
  default $XDG_CACHE_HOME/jaxgan/xla, else ~/.cache/jaxgan/xla)."""
  if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    jax.config.update("jax_compilation_cache_dir", os.path.join(cache_home, "jaxgan", "xla"))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)


def backend_error(error: BaseException) -> JaxganError | None:
  """The one-line error for JAX failing to start its backends (a platform that JAX_PLATFORMS asks
  for and this machine lacks; a CUDA or TPU runtime that fails to initialise), else None."""
  requested = jax.config.jax_platforms or os.environ.get("JAX_PLATFORMS", "")
  setting = f"JAX_PLATFORMS={requested}" if requested else "the installed JAX plugins"
  text = str(error).split("\n", 1)[0]
  if isinstance(error, RuntimeError) and text.startswith("Unable to initialize backend '"):
    platform = text.split("'")[1]
    reason = text.split(": ", 1)[-1].split(" (set JAX_PLATFORMS", 1)[0].split(" (you may need", 1)[0]
    fix = ("set JAX_PLATFORMS=cpu, or unset it to use what this machine has" if requested else
           "set JAX_PLATFORMS=cpu, or reinstall or uninstall that plugin")
    return JaxganError(f"JAX cannot start the {platform!r} platform that {setting} asks for: "
                       f"{reason[:300]}; {fix}")
  frames = traceback.extract_tb(error.__traceback__)
  if isinstance(error, AssertionError) and frames and frames[-1].filename.endswith("xla_bridge.py"):
    return JaxganError(f"JAX found none of the platforms that {setting} asks for on this machine "
                       "(no visible GPU or TPU); set JAX_PLATFORMS=cpu, or unset it to use what "
                       "this machine has")
  return None


def initialize_distributed(coordinator_address: str | None = None, num_processes: int | None = None,
                           process_id: int | None = None, timeout_s: int = 300) -> None:
  """Joins the processes of a multi-host run with `jax.distributed.initialize`; call before any JAX work.

  With any argument given, the ones left None are filled in by JAX's cluster auto-detection (or its
  JAX_COORDINATOR_ADDRESS environment variable). With none given, JAX's auto-detection decides: on a
  TPU pod slice, under SLURM (srun) or Open MPI, every process joins the cluster it detects; anywhere
  else the run stays a single process. On CPU, cross-process collectives use gloo.

  Raises:
    ConfigError: the arguments are inconsistent or incomplete (one line).
    StartupError: the processes have not all joined within `timeout_s` seconds (JAX itself would
      abort the process with a C++ stack trace a minute later).
  """
  explicit = any(v is not None for v in (coordinator_address, num_processes, process_id))
  if num_processes is not None and num_processes < 1:
    raise ConfigError(f"--num_processes: got {num_processes}, expected >= 1")
  if process_id is not None and num_processes is not None and not 0 <= process_id < num_processes:
    raise ConfigError(f"--process_id: got {process_id}, expected an integer in "
                      f"[0, {num_processes - 1}] for --num_processes={num_processes}")
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  try:
    _initialize_within(timeout_s, coordinator_address, num_processes, process_id)
  except ValueError as e:
    # Raised before any connection when, after auto-detection, a setting is still unknown.
    if explicit:
      raise ConfigError(f"cannot start a multi-process run: {e} Give --coordinator_address, "
                        "--num_processes and --process_id") from e


def _initialize_within(timeout_s: int, *args) -> None:
  """jax.distributed.initialize(*args) in a thread, given up after `timeout_s` seconds."""
  outcome = []

  def join():
    try:
      jax.distributed.initialize(*args, initialization_timeout=timeout_s + 60)
      outcome.append(None)
    except Exception as e:  # pylint: disable=broad-except  (raised in the caller's thread)
      outcome.append(e)

  thread = threading.Thread(target=join, name="jax.distributed.initialize", daemon=True)
  thread.start()
  thread.join(timeout_s)
  if not outcome:
    address = args[0] or os.environ.get("JAX_COORDINATOR_ADDRESS") or "the detected coordinator"
    raise StartupError(
        f"the processes of the multi-process run did not all reach the coordinator at {address} "
        f"within {timeout_s} s: start every process (process 0 first), check --coordinator_address "
        "(process 0's host and a free port) and the firewall, or raise --coordinator_timeout")
  if outcome[0] is not None:
    raise outcome[0]


def is_main_process() -> bool:
  """True in process 0, the one that writes logs, samples and other files shared by the run."""
  return jax.process_index() == 0


def make_mesh(num_devices: int | None = None) -> jax.sharding.Mesh:
  """A 1-D mesh over the first `num_devices` devices (all by default, of all processes), axis `data`.

  The axis type is Auto, so `jax.lax.with_sharding_constraint` works inside jitted code.
  """
  devices = jax.devices()
  n = num_devices or len(devices)
  return jax.make_mesh((n,), (DATA_AXIS,), axis_types=(AxisType.Auto,), devices=devices[:n])


def check_batch_size(batch_size: int, mesh: jax.sharding.Mesh) -> None:
  """Raises ConfigError (one line) unless the global `batch_size` splits evenly over the mesh."""
  if batch_size % mesh.size:
    raise ConfigError(f"config.batch_size: got {batch_size}, expected a multiple of the {mesh.size} "
                      f"devices ({jax.process_count()} process(es)); try "
                      f"--config.batch_size={max(1, round(batch_size / mesh.size)) * mesh.size}")


def replicated(mesh: jax.sharding.Mesh) -> NamedSharding:
  """A full copy on every device of `mesh`."""
  return NamedSharding(mesh, P())


def batch_sharding(mesh: jax.sharding.Mesh) -> NamedSharding:
  """The leading (batch) dimension split along the `data` axis."""
  return NamedSharding(mesh, P(DATA_AXIS))


def stacked_batch_sharding(mesh: jax.sharding.Mesh) -> NamedSharding:
  """Batches stacked along a leading axis (K x B x ...), each split along the `data` axis."""
  return NamedSharding(mesh, P(None, DATA_AXIS))


def put_replicated(mesh: jax.sharding.Mesh, array: np.ndarray) -> jax.Array:
  """Places a host array, identical in every process, on all devices of `mesh`.

  For a replicated array a process's local share is the whole array: each process passes its own copy,
  which fills the devices it owns, and no data crosses between hosts.
  """
  return jax.make_array_from_process_local_data(replicated(mesh), array)


def any_process(flag: bool) -> bool:
  """Whether `flag` is True in any process of a multi-process run (a collective: all must call it)."""
  from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
  flags = multihost_utils.process_allgather(np.int32(flag))
  return bool(np.any(flags))
