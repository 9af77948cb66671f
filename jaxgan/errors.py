"""User-facing errors: each carries a one-line message and the exit code a command should end with."""


class JaxganError(Exception):
  """An error the user can fix; commands print its one-line message and exit with `exit_code`."""
  exit_code = 1
  exit_at_once = False  # True: no exit hooks run after the message (a stuck runtime would print).


class ConfigError(JaxganError):
  """A config value or command-line flag is invalid."""
  exit_code = 2


class DataError(JaxganError):
  """The dataset is missing or unreadable."""


class CheckpointError(JaxganError):
  """No checkpoint can be restored, or one does not fit the config."""


class Interrupted(JaxganError):
  """The user stopped the command with Ctrl-C (SIGINT); the message says what was kept."""
  exit_code = 130  # 128 + SIGINT, the shell's code for a command stopped by Ctrl-C.


class StartupError(JaxganError):
  """JAX's multi-process runtime did not start; its C++ side, stuck, would log and abort at exit."""
  exit_at_once = True
