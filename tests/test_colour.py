"""Colour pictures: grids, the progress GIF and latent-walk animations keep RGB images in colour."""

import numpy as np
from PIL import Image

from jaxgan.run import visualize


def _gif_frames_rgb(path):
  frames = []
  with Image.open(path) as gif:
    for i in range(gif.n_frames):
      gif.seek(i)
      frames.append(np.asarray(gif.convert("RGB")))
  return frames


def _rgb_images(n=4, side=8):
  images = np.zeros((n, side, side, 3), np.uint8)
  images[..., 0] = (220 + np.arange(n) * 10)[:, None, None]  # Red, a shade a frame ...
  images[:, :, side // 2:, 2] = 180  # ... with a blue right half.
  return images


def test_rgb_grid_gif_and_animation_stay_in_colour_and_grey_stays_grey(tmp_path):
  images = _rgb_images()
  visualize.save_grid(images, str(tmp_path / "a.png"), ncols=2)
  visualize.save_grid(images[:, ::-1], str(tmp_path / "b.png"), ncols=2)
  with Image.open(tmp_path / "a.png") as grid:
    assert grid.mode == "RGB" and grid.size == (2 + 2 * 10, 2 + 2 * 10)
  visualize.save_gif([str(tmp_path / "a.png"), str(tmp_path / "b.png")], str(tmp_path / "p.gif"))
  for frame in _gif_frames_rgb(tmp_path / "p.gif"):
    assert np.abs(frame[2:10, 2:10, 0].astype(int) - frame[2:10, 2:10, 1]).min() > 100  # Red.
  visualize.save_animation(images, str(tmp_path / "walk.gif"), scale=2)
  frames = _gif_frames_rgb(tmp_path / "walk.gif")
  assert len(frames) == 4 and frames[0].shape == (16, 16, 3)
  assert frames[0][0, 0, 0] > 200 and frames[0][0, 0, 2] < 30 and frames[0][0, -1, 2] > 150
  grey = np.full((2, 8, 8, 1), 77, np.uint8)
  visualize.save_grid(grey, str(tmp_path / "g.png"))
  visualize.save_gif([str(tmp_path / "g.png")], str(tmp_path / "g.gif"))
  with Image.open(tmp_path / "g.gif") as gif:
    assert np.ptp(np.asarray(gif.convert("RGB"))[2:10, 2:10], axis=-1).max() == 0
