"""What a command prints: jaxgan's log records one line each on stderr, third-party ones quiet."""

import logging as std_logging
import sys

from absl import flags, logging

from jaxgan.run import checkpoint


class _LevelFormatter(std_logging.Formatter):
  """jaxgan's records as users see them: "warning: ..." for warnings, the bare message otherwise."""

  def format(self, record):
    message = super().format(record)
    return f"warning: {message}" if record.levelno >= std_logging.WARNING else message


def quiet_third_party_logs() -> None:
  """jaxgan's records (INFO and up) on stderr, "warning: " before warnings; orbax's and TFDS's absl
  records, and orbax's callbacks into its closed loop, only with --verbosity (jaxgan reports their
  failures itself); asyncio's never."""
  handler = std_logging.StreamHandler(sys.stderr)
  handler.setFormatter(_LevelFormatter("%(message)s"))
  logger = std_logging.getLogger("jaxgan")
  logger.handlers, logger.propagate = [handler], False
  logger.setLevel(std_logging.INFO)
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.FATAL)
    checkpoint.ignore_closed_loop_callbacks()
  std_logging.getLogger("asyncio").setLevel(std_logging.CRITICAL)
