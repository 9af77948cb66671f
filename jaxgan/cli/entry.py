"""What the commands add to absl and ml_collections: a user error as one line on stderr with its exit
code, the closest field of a mistyped config override, and quiet third-party logs."""

import difflib
import os
import re
import sys
from collections.abc import Callable

import ml_collections
from absl import app, flags
from ml_collections import config_flags

from jaxgan import parallel
from jaxgan.cli import logs
from jaxgan.config import presets, schema, validation
from jaxgan.errors import ConfigError, Interrupted, JaxganError
from jaxgan.training import failpoints

_FLAG_ERRORS = (flags.Error, ValueError, TypeError, AttributeError, KeyError, OSError, ImportError,
                SyntaxError)  # What absl and ml_collections raise for a bad flag or config file.


def _one_line(error: BaseException) -> str:
  """The first and last lines of an error's message (some embed a whole traceback) as one line."""
  lines = [line.strip() for e in (error, error.__cause__) if e is not None
           for line in str(e).splitlines() if line.strip()]
  return (lines[0] if len(lines) == 1 else f"{lines[0]} {lines[-1]}") if lines else type(error).__name__


def _fail(error: JaxganError) -> None:
  print(f"{'' if isinstance(error, Interrupted) else 'error: '}{error}", file=sys.stderr, flush=True)
  if error.exit_at_once:
    os._exit(error.exit_code)  # pylint: disable=protected-access
  sys.exit(error.exit_code)


def _flag_error(error: BaseException, argv: list[str]) -> ConfigError:
  """A bad flag as one line; a mistyped override's names the closest field of the schema."""
  for arg in argv[1:]:
    match = re.match(r"--?(?:no)?config\.([^=]*)", arg)
    if match and match.group(1) not in schema.FIELDS:
      close = difflib.get_close_matches(match.group(1), schema.FIELDS, n=1)
      hint = f"did you mean --config.{close[0]}?" if close else "--print_config lists the fields"
      return ConfigError(f"bad flag: {arg.split('=')[0]}: the config has no field "
                         f"{match.group(1)!r}; {hint}")
  order = "; put the --config.FIELD overrides after it" if "before a value" in str(error) else ""
  return ConfigError(f"bad flag: {_one_line(error)}{order}")


def define_config_file(preset: str, help_string: str) -> flags.FlagHolder:
  """`--config=FILE` (locked; default: the preset of that name) and `--print_config`.

  ml_collections reads the default's `--config.FIELD=VALUE` overrides as the flag is defined, so a
  bad one ends the command here, in one line with exit 2.
  """
  flags.DEFINE_bool("print_config", False, "Print the resolved --config (every field, after the "
                    "--config.FIELD overrides) and exit.")
  try:
    return config_flags.DEFINE_config_file(
        "config", os.path.join(presets.DIR, f"{preset}.py"),
        f"{help_string} Overrides --config.FIELD=VALUE come after --config=FILE. --print_config "
        f"prints every field. The fields:\n{schema.help_text()}", lock_config=True)
  except _FLAG_ERRORS as e:
    _fail(_flag_error(e, sys.argv))


def config_value(holder: flags.FlagHolder) -> ml_collections.ConfigDict:
  """The config a config-file flag holds; a file that failed to load (its error raised on the first
  access) is a ConfigError."""
  path = config_flags.get_config_filename(flags.FLAGS[holder.name])
  try:
    config = holder.value
    config.keys()
  except _FLAG_ERRORS as e:
    raise ConfigError(f"bad flag: --{holder.name}={path}: cannot load it: {_one_line(e)}") from e
  if not isinstance(config, ml_collections.ConfigDict):
    raise ConfigError(f"bad flag: --{holder.name}={path}: get_config() must return a ConfigDict")
  return config


def _parse_flags(argv: list[str]) -> list[str]:
  try:
    return flags.FLAGS(argv)
  except _FLAG_ERRORS as e:
    _fail(_flag_error(e, argv))


def run(main: Callable, config: flags.FlagHolder | None = None, positional: bool = False) -> None:
  """Parses the flags and calls `main()` (`main(args)`, args the positional ones, if `positional`;
  with --print_config, prints `config`). A bad flag, a JaxganError or a JAX platform that fails to
  start ends the program with one line on stderr and its exit code (2 for config errors), never a
  traceback; Ctrl-C with exit 130 at once (os._exit: orbax's and TensorFlow's exit hooks would
  print tracebacks)."""

  def wrapped(argv):
    logs.quiet_third_party_logs()
    parallel.enable_compilation_cache()
    parallel.relax_cpu_collective_timeouts()
    try:
      if len(argv) > 1 and not positional:
        raise ConfigError(f"unexpected arguments: {' '.join(argv[1:])}")
      if config is not None and flags.FLAGS.print_config:
        validation.validate(config_value(config))
        print(config_value(config), end="")
        return
      failpoints.maybe_stop("command")
      main(argv[1:]) if positional else main()
    except JaxganError as e:
      _fail(e)
    except KeyboardInterrupt:
      print("\nstopped by Ctrl-C", file=sys.stderr, flush=True)
      os._exit(Interrupted.exit_code)  # pylint: disable=protected-access
    except (RuntimeError, AssertionError) as e:  # JAX starts its backends at their first use.
      error = parallel.backend_error(e)
      if error is None:
        raise
      _fail(error)

  app.run(wrapped, flags_parser=_parse_flags)
