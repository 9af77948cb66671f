"""Pictures of a run: sample grids (PNG), their progress over training (GIF) and loss curves."""

import logging
import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from jaxgan.run import workdir as workdir_lib

log = logging.getLogger(__name__)


def image_grid(images_NxHxWxC: np.ndarray, ncols: int = 8, padding: int = 2) -> Image.Image:
  """Tiles uint8 images into one picture, `ncols` a row, with `padding` black pixels between them."""
  images = np.asarray(images_NxHxWxC)
  if images.dtype != np.uint8:
    raise ValueError(f"image_grid expects uint8 images, got {images.dtype}")
  if images.ndim == 3:
    images = images[..., None]
  n, h, w, c = images.shape
  nrows = math.ceil(n / ncols)
  grid = np.zeros((padding + nrows * (h + padding), padding + ncols * (w + padding), c), np.uint8)
  for i, image in enumerate(images):
    top = padding + (i // ncols) * (h + padding)
    left = padding + (i % ncols) * (w + padding)
    grid[top:top + h, left:left + w] = image
  return Image.fromarray(grid[..., 0] if c == 1 else grid)


def save_grid(images_NxHxWxC: np.ndarray, path: str, ncols: int = 8, scale: int = 1) -> None:
  """Writes `image_grid(images)` as a PNG, enlarged `scale` times (nearest neighbour)."""
  grid = image_grid(images_NxHxWxC, ncols)
  grid = grid.resize((grid.width * scale, grid.height * scale), Image.Resampling.NEAREST)
  with workdir_lib.atomic_open(path, "wb") as f:
    grid.save(f, format="PNG")


def save_gif(frame_paths: Sequence[str], path: str, frame_ms: int = 400) -> None:
  """An animated GIF of the given PNG frames (say the sample grids over training), looping forever.

  A frame that cannot be read is left out with a warning.
  """
  frames = []
  for frame_path in frame_paths:
    try:
      with Image.open(frame_path) as image:
        frames.append(image.convert("L" if image.mode in ("L", "1") else "RGB"))  # Grey or colour.
    except OSError as e:
      log.warning("%s left out of %s: %s", frame_path, path, e)
  if not frames:
    raise ValueError("save_gif needs at least one readable frame")
  with workdir_lib.atomic_open(path, "wb") as f:
    frames[0].save(f, format="GIF", save_all=True, append_images=frames[1:],
                   duration=frame_ms, loop=0)


def save_animation(images_NxHxWxC: np.ndarray, path: str, frame_ms: int = 80, scale: int = 4) -> None:
  """An animated GIF, one uint8 image a frame, enlarged `scale` times (nearest neighbour), looping."""
  frames = [image_grid(image[None], ncols=1, padding=0) for image in np.asarray(images_NxHxWxC)]
  frames = [f.resize((f.width * scale, f.height * scale), Image.Resampling.NEAREST) for f in frames]
  with workdir_lib.atomic_open(path, "wb") as f:
    frames[0].save(f, format="GIF", save_all=True, append_images=frames[1:],
                   duration=frame_ms, loop=0)


def plot_losses(records: Sequence[dict], path: str) -> None:
  """Loss curves from metric records (dicts with step, g_loss, d_loss, d_real, d_fake) as a PNG.

  Left: the G and D losses. Right: D's mean output on real images, D(x), and on fakes, D(G(z)).
  """
  import matplotlib  # pylint: disable=g-import-not-at-top  (slow; only the curves need it)
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  records = sorted((r for r in records if "g_loss" in r), key=lambda r: r["step"])
  steps = [r["step"] for r in records]
  fig, (ax_loss, ax_d) = plt.subplots(1, 2, figsize=(11, 4))
  for name, label in (("g_loss", "G loss"), ("d_loss", "D loss")):
    ax_loss.plot(steps, [r[name] for r in records], label=label)
  ax_loss.set(xlabel="step", ylabel="loss", title="Losses")
  for name, label in (("d_real", "D(x)"), ("d_fake", "D(G(z))")):
    ax_d.plot(steps, [r[name] for r in records], label=label)
  ax_d.set(xlabel="step", ylabel="mean D output", title="Discriminator outputs", ylim=(0, 1))
  for ax in (ax_loss, ax_d):
    ax.legend()
    ax.grid(alpha=0.3)
  fig.tight_layout()
  with workdir_lib.atomic_open(path, "wb") as f:
    fig.savefig(f, dpi=100, format="png")
  plt.close(fig)


def plot_time_to_quality(curves: dict[str, Sequence[tuple[float, float]]], path: str) -> None:
  """FCD (x real, log scale) against wall-clock minutes, one line of (minutes, ratio) points a run."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  from matplotlib import ticker  # pylint: disable=g-import-not-at-top

  fig, ax = plt.subplots(figsize=(7, 4.5))
  for name, points in curves.items():
    ax.plot(*zip(*points), marker="o", label=name)
  ax.set(xlabel="wall-clock minutes (training and evaluation)", ylabel="FCD / real FCD",
         yscale="log", title="Time to quality (N = 2000 evaluations during training)")
  ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%gx"))
  ax.yaxis.set_minor_formatter(ticker.FormatStrFormatter("%gx"))
  ax.legend()
  ax.grid(alpha=0.3, which="both")
  fig.tight_layout()
  with workdir_lib.atomic_open(path, "wb") as f:
    fig.savefig(f, dpi=100, format="png")
  plt.close(fig)
