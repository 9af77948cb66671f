"""Entry-point plumbing: absl flags, and a user error as one line on stderr with its exit code."""

import difflib
import logging as std_logging
import os
import re
import sys
from collections.abc import Callable

import jax
import ml_collections
from absl import app, flags, logging
from ml_collections import config_flags

from jaxgan import config_validation, parallel, test_faults
from jaxgan.errors import ConfigError, Interrupted, JaxganError

# What absl and ml_collections raise for a bad flag, a bad config override or a config file that fails.
_FLAG_ERRORS = (flags.Error, ValueError, TypeError, AttributeError, KeyError, OSError, ImportError,
                SyntaxError)


def _one_line(error: BaseException) -> str:
  """The first and last lines of an error's message (some embed a whole traceback) as one line."""
  lines = [line.strip() for line in str(error).splitlines() if line.strip()]
  if error.__cause__ is not None:
    lines += [line.strip() for line in str(error.__cause__).splitlines() if line.strip()]
  if not lines:
    return type(error).__name__
  return lines[0] if len(lines) == 1 else f"{lines[0]} {lines[-1]}"


def _fail(error: JaxganError) -> None:
  print(f"{'' if isinstance(error, Interrupted) else 'error: '}{error}", file=sys.stderr, flush=True)
  if error.exit_at_once:
    os._exit(error.exit_code)  # pylint: disable=protected-access
  sys.exit(error.exit_code)


def _stop_on_ctrl_c() -> None:
  """Ctrl-C where no handler of its own saves anything: one line and exit 130 at once (os._exit:
  the atexit hooks of orbax's and TensorFlow's threads would hold the exit up and print tracebacks)."""
  sys.stdout.flush()
  print("\nstopped by Ctrl-C", file=sys.stderr, flush=True)
  os._exit(Interrupted.exit_code)  # pylint: disable=protected-access


# The repository's root: a relative default config file is found from it, wherever a command runs.
_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CONFIG_FLAGS: list[flags.FlagHolder] = []  # The command's run config flag, for --print_config.


def _check_overrides(name: str, argv: list[str]) -> None:
  """ConfigError for an override of a field that no run config has (`--NAME.FIELD`, `--noNAME.FIELD`,
  before or after `--NAME=FILE`): the flag as written and the closest field name."""
  for arg in argv[1:]:
    match = re.match(rf"--?(?:no)?{re.escape(name)}\.([^=]*)", arg)
    if match and match.group(1) not in config_validation.FIELDS:
      close = difflib.get_close_matches(match.group(1), config_validation.FIELDS, n=1)
      hint = f"did you mean --{name}.{close[0]}?" if close else "--print_config lists the fields"
      raise ConfigError(f"bad flag: {arg.split('=')[0]}: the config has no field "
                        f"{match.group(1)!r}; {hint}")


def _config_file_first(name: str, argv: list[str]) -> None:
  """Moves `--NAME=FILE` (or `--NAME FILE`) in `argv` before every `--NAME.FIELD` override, which
  ml_collections otherwise refuses: overrides apply to the file whatever their order."""
  for i, arg in enumerate(argv[1:], 1):
    if arg in (f"--{name}", f"-{name}") and i + 1 < len(argv):
      argv[1:1] = [argv.pop(i), argv.pop(i)]
      return
    if re.match(rf"--?{re.escape(name)}=", arg):
      argv.insert(1, argv.pop(i))
      return


def define_config_file(name: str, default: str, help_string: str) -> flags.FlagHolder:
  """config_flags.DEFINE_config_file of a run config (locked), and --print_config.

  A relative `default` is a path in the repository. ml_collections resolves `--NAME.FIELD=...`
  overrides as the flag is defined, so a bad one fails here, at import of the entry module, with
  one line and exit 2.
  """
  try:
    _check_overrides(name, sys.argv)
    _config_file_first(name, sys.argv)
    flags.DEFINE_bool("print_config", False, f"Print the resolved --{name} (every field, after the "
                      f"--{name}.FIELD overrides) and exit.")
    holder = config_flags.DEFINE_config_file(
        name, os.path.join(_REPO_ROOT, default),
        f"{help_string} --print_config prints every field.", lock_config=True)
  except ConfigError as e:
    _fail(e)
  except _FLAG_ERRORS as e:
    _fail(ConfigError(f"bad flag: --{name}: {_one_line(e)}"))
  _CONFIG_FLAGS.append(holder)
  return holder


def _print_config() -> bool:
  """With --print_config, prints the command's validated config; whether it did."""
  if "print_config" not in flags.FLAGS or not flags.FLAGS.print_config:
    return False
  config = config_value(_CONFIG_FLAGS[0])
  config_validation.validate(config)
  print(config, end="")
  return True


def config_value(holder: flags.FlagHolder):
  """The config a config-file flag holds; a config file that fails to load is a ConfigError."""
  path = config_flags.get_config_filename(flags.FLAGS[holder.name])
  try:
    config = holder.value
    if not isinstance(config, ml_collections.ConfigDict):
      config.keys()  # A config file that failed to load raises its error on any access.
      raise ConfigError(f"bad flag: --{holder.name}={path}: get_config() must return a ConfigDict")
  except _FLAG_ERRORS as e:
    cause = e.__cause__ if e.__cause__ is not None else e
    raise ConfigError(f"bad flag: --{holder.name}={path}: cannot load it: {_one_line(cause)}") from e
  return config


def _parse_flags(argv: list[str]) -> list[str]:
  try:
    return flags.FLAGS(argv)
  except _FLAG_ERRORS as e:
    _fail(ConfigError(f"bad flag: {_one_line(e)}"))


# orbax records that repeat, from its background threads, a failure that jaxgan reports in one line
# (a broken step folder it falls back past, a failed save it raises as a CheckpointError).
_KNOWN_ORBAX_NOISE = (
    "Metadata file does not exist",
    "_SignalingThread.run() raised an exception",
    "Failed to run",
    "Save Finalize thread (save_finalize) failed",
)
# What asyncio logs at exit for the futures of such a failed save ("Future", "Task",
# "_GatheringFuture" ... "exception was never retrieved").
_KNOWN_ASYNCIO_NOISE = "exception was never retrieved"
# TFDS's advice as it first decodes images (PIL decodes them as well).
_KNOWN_TFDS_NOISE = "OpenCV is not installed"


def _is_known_noise(record: std_logging.LogRecord) -> bool:
  message = record.getMessage()
  if "/tensorflow_datasets/" in record.pathname:
    return message.startswith(_KNOWN_TFDS_NOISE)
  if "/orbax/" in record.pathname:
    return any(known in message for known in _KNOWN_ORBAX_NOISE)
  return record.name == "asyncio" and _KNOWN_ASYNCIO_NOISE in message.split("\n", 1)[0]


def _ignore_closed_loop_callbacks() -> None:
  """After a broken checkpoint fails to restore or a save fails, its other pending I/O still calls
  back into orbax's asyncio loop, closed by then; only those `Event loop is closed` errors are
  dropped (the checkpoint code has reported the failure in one line)."""
  default_hook = sys.unraisablehook

  def hook(unraisable):
    if not (unraisable.exc_type is RuntimeError and
            str(unraisable.exc_value) == "Event loop is closed"):
      default_hook(unraisable)

  sys.unraisablehook = hook


class _LevelFormatter(std_logging.Formatter):
  """jaxgan's records as the lines users see: "warning: ..." for warnings, the bare message otherwise."""

  def format(self, record):
    message = super().format(record)
    return f"warning: {message}" if record.levelno >= std_logging.WARNING else message


def _log_to_stderr() -> None:
  """Sends the jaxgan loggers' records (INFO and up) to stderr, one line each."""
  handler = std_logging.StreamHandler(sys.stderr)
  handler.setFormatter(_LevelFormatter("%(message)s"))
  logger = std_logging.getLogger("jaxgan")
  logger.handlers = [handler]
  logger.setLevel(std_logging.INFO)
  logger.propagate = False


def _cache_compilations() -> None:
  """Keeps compiled XLA programs across runs in JAX's persistent cache, so that a rerun, a resume or
  `generate` after training skips most compilation. JAX_COMPILATION_CACHE_DIR chooses the folder
  (default: $XDG_CACHE_HOME/jaxgan/xla, else ~/.cache/jaxgan/xla)."""
  if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    jax.config.update("jax_compilation_cache_dir", os.path.join(cache_home, "jaxgan", "xla"))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)


def run(main: Callable[[], None]) -> None:
  """Parses the flags and calls `main()`. A bad flag, a JaxganError or a JAX platform that fails to
  start ends the program with one line on stderr (`error: ...`) and the error's exit code (2 for
  config errors), never a traceback; Ctrl-C with `stopped by Ctrl-C...` and exit 130."""

  def wrapped(argv):
    _log_to_stderr()
    _cache_compilations()
    parallel.relax_cpu_collective_timeouts()
    try:
      if len(argv) > 1:
        raise ConfigError(f"unexpected arguments: {' '.join(argv[1:])}")
      if _print_config():
        return
      if not flags.FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)  # Library INFO logs (orbax) only with -v 0.
        logging.get_absl_handler().addFilter(lambda r: not _is_known_noise(r))
        _ignore_closed_loop_callbacks()
      test_faults.maybe_stop("command")
      main()
    except JaxganError as e:
      _fail(e)
    except KeyboardInterrupt:
      _stop_on_ctrl_c()
    except (RuntimeError, AssertionError) as e:  # JAX starts its backends at their first use.
      error = parallel.backend_error(e)
      if error is None:
        raise
      _fail(error)

  app.run(wrapped, flags_parser=_parse_flags)
