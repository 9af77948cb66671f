"""User-facing errors: each carries a one-line message and the exit code a command should end with."""


class JaxganError(Exception):
  """An error the user can fix; commands print its one-line message and exit with `exit_code`."""
  exit_code = 1


class ConfigError(JaxganError):
  """A config value or command-line flag is invalid."""
  exit_code = 2


class DataError(JaxganError):
  """The dataset is missing or unreadable."""


class CheckpointError(JaxganError):
  """No checkpoint can be restored, or one does not fit the config."""
