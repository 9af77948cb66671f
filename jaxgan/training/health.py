"""GAN health on the host: alarms that warn (D has won, collapsed diversity, exploding gradients) and
the streak of non-finite steps that stops a run.

The alarms are pure functions of logged metrics and samples; `HealthMonitor` keeps the little history
they need, and turns them into one-line warnings, each given once when its condition starts. It never
raises: a health check must not end a run. `NonfiniteStreak` is the one fatal check.
"""

from collections.abc import Sequence

import numpy as np

from jaxgan.errors import JaxganError


def d_has_won(d_losses: Sequence[float], floor: float, patience: int) -> bool:
  """True when the last `patience` discriminator losses are all below `floor` (D rejects every fake)."""
  return len(d_losses) >= patience and all(loss < floor for loss in d_losses[-patience:])


def mean_pairwise_distance(images_NxHxWxC: np.ndarray) -> float:
  """Mean over pairs of samples of their RMS pixel difference, pixels scaled to [0, 1].

  About 0.4 for MNIST digits; 0 for a generator that outputs a constant.
  """
  x_NxD = np.asarray(images_NxHxWxC, np.float64).reshape(len(images_NxHxWxC), -1)
  if np.issubdtype(np.asarray(images_NxHxWxC).dtype, np.integer):
    x_NxD = x_NxD / 255.0
  sq_N = np.sum(x_NxD**2, axis=1)
  sq_dists_NxN = np.maximum(sq_N[:, None] + sq_N[None, :] - 2.0 * x_NxD @ x_NxD.T, 0.0)
  n = len(x_NxD)
  upper = np.triu_indices(n, k=1)
  return float(np.mean(np.sqrt(sq_dists_NxN[upper] / x_NxD.shape[1])))


class HealthMonitor:
  """Turns the metrics (and samples) of each log step into one-line warnings.

  Args:
    config: the `health` config: d_loss_floor, d_loss_patience (log steps), min_sample_distance,
      max_grad_norm.
  """

  def __init__(self, config):
    self.config = config
    self._d_losses: list[float] = []
    self._active: set[str] = set()

  def _alarms(self, metrics: dict[str, float], samples) -> dict[str, str]:
    """{alarm name: message} of the conditions that hold now."""
    c, alarms = self.config, {}
    self._d_losses = (self._d_losses + [metrics["d_loss"]])[-c.d_loss_patience:]
    if d_has_won(self._d_losses, c.d_loss_floor, c.d_loss_patience):
      alarms["d_won"] = (f"the discriminator has won: d_loss below {c.d_loss_floor:g} for "
                         f"{c.d_loss_patience} log steps (now {metrics['d_loss']:.3g}); G gets no "
                         "useful gradient, try a lower d_lr or a higher g_lr")
    for name in ("g_grad_norm", "d_grad_norm"):
      if name in metrics and metrics[name] > c.max_grad_norm:
        alarms[name] = (f"exploding gradients: {name} {metrics[name]:.3g} > "
                        f"{c.max_grad_norm:g}; try a lower learning rate")
    if samples is not None and len(samples) > 1:
      distance = mean_pairwise_distance(samples)
      if distance < c.min_sample_distance:
        alarms["distance"] = (f"collapsed diversity: samples differ by {distance:.3g} RMS per pixel "
                              f"(< {c.min_sample_distance:g}); the generator ignores its noise")
    return alarms

  def update(self, step: int, metrics: dict[str, float],
             samples: np.ndarray | None = None) -> list[str]:
    """The warnings of alarms that start at `step` (`step S: health: ...`), one line each.

    Args:
      step: the step the metrics were logged at.
      metrics: host floats with d_loss and optionally g_grad_norm, d_grad_norm.
      samples: generated images_NxHxWxC (uint8 or floats in [0, 1]), or None.
    """
    try:
      alarms = self._alarms(metrics, samples)
    except Exception as e:  # pylint: disable=broad-except  (a health check never ends a run)
      return [f"step {step}: health: check failed: {type(e).__name__}: {e}".splitlines()[0]]
    started = [name for name in alarms if name not in self._active]
    self._active = set(alarms)
    return [f"step {step}: health: {alarms[name]}" for name in started]


class NonfiniteStreak:
  """Counts consecutive non-finite steps (the `nonfinite` metric) and stops a diverged run.

  Args:
    count: the streak carried in by the state (its `nonfinite_count`), e.g. after a resume.
    limit: config.max_nonfinite_steps.
  """

  def __init__(self, count: int, limit: int):
    self.count, self.limit = count, limit

  def update(self, step: int, nonfinite: np.ndarray, metrics: dict) -> None:
    """Adds the flags of the steps ending at `step`.

    Args:
      step: the step number after the last flag.
      nonfinite: the `nonfinite` metric, a scalar or one flag per step of a fused call.
      metrics: those steps' metrics (scalars or stacked along the first axis), read only to name
        the quantities when the run stops.

    Raises:
      JaxganError: the streak reached `limit`; names the step and the non-finite quantities.
    """
    flags = np.atleast_1d(np.asarray(nonfinite))
    first = step - len(flags) + 1
    for i, flag in enumerate(flags):
      self.count = self.count + 1 if flag else 0
      if self.count >= self.limit:
        # Every quantity the update reports (gan_update's metrics), so a new one is named too.
        at = {name: np.atleast_1d(np.asarray(value))[i if len(flags) > 1 else 0]
              for name, value in metrics.items() if name != "nonfinite"}
        bad = [name for name, value in at.items() if not np.isfinite(value)]
        raise JaxganError(
            f"training diverged: {self.count} non-finite steps in a row up to step {first + i} "
            f"(config.max_nonfinite_steps={self.limit}): {', '.join(bad) or 'the gradients'} not "
            "finite; those updates were skipped, so every checkpoint is finite; try a lower "
            "learning rate")
