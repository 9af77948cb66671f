"""The streaming input pipeline gives the resident path's batches for the same (seed, step)."""

import logging
import os

import jax
import numpy as np
import pytest
from PIL import Image

from jaxgan import rng
from jaxgan.config import schema
from jaxgan.config.presets import smoke
from jaxgan.data import batches as data_lib
from jaxgan.data import sources, splits, streaming, train_set
from jaxgan.errors import DataError
from jaxgan.run import checkpoint as checkpoint_lib
from jaxgan.run import workdir as workdir_lib
from jaxgan.training import loop
from tests.state_compare import assert_same_state
from tests.test_runner import STEPS_PER_EPOCH, _smoke_config

BATCH = 16


def _streamed(source, data_key, start, stop, rows=slice(None)):
  orders = streaming.EpochOrders(data_key, len(source))
  return list(streaming.step_batches(source, orders, BATCH, start, stop, rows,
                                     lambda images, labels: labels, num_threads=3))


def test_streamed_batches_are_the_resident_ones_across_epochs(tiny_idx_dir):
  config = _smoke_config(tiny_idx_dir)
  images_N, labels_N = splits.load_split(config.data, "train")
  source = sources.open_source(config.data, "train")
  data_key = rng.stream_key(jax.random.PRNGKey(7), rng.DATA)
  epoch_orders = jax.jit(lambda epoch: data_lib.epoch_orders(data_key, epoch, len(images_N)))
  spe = data_lib.steps_per_epoch(len(images_N), BATCH)
  start, stop = spe - 3, 2 * spe + 2  # Crosses two epoch boundaries.
  streamed = _streamed(source, data_key, start, stop)
  assert [step for step, _, _ in streamed] == list(range(start, stop))
  for step, images_B, labels_B in streamed:
    epoch, position = divmod(step, spe)
    want = data_lib.gather_batch(images_N, labels_N, epoch_orders(epoch)[0], position, BATCH)
    np.testing.assert_array_equal(images_B, want[0])
    np.testing.assert_array_equal(labels_B, want[1])
  # Two processes each read their half of every batch.
  halves = [_streamed(source, data_key, start, stop, rows) for rows in (slice(0, 8), slice(8, 16))]
  for (_, images_B, _), (_, first, _), (_, second, _) in zip(streamed, *halves):
    np.testing.assert_array_equal(images_B, np.concatenate([first, second]))


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [dict(), dict(model=dict(clusters=4))],
                         ids=["labels", "self-conditioned"])
def test_a_streamed_run_reaches_the_resident_run_s_state(tiny_idx_dir, tmp_path, overrides):
  def run(name, **more):
    config = _smoke_config(tiny_idx_dir, num_steps=2 * STEPS_PER_EPOCH + 6, steps_per_call=5,
                           checkpoint_every_steps=10, eval_every_steps=0)
    config.update(overrides, **more)
    return jax.device_get(loop.train_and_evaluate(config, str(tmp_path / name)))

  resident = run("resident", data=dict(pipeline="resident"))
  run("streamed", data=dict(pipeline="stream"), num_steps=13)  # Resumed mid-epoch, off a call.
  streamed = run("streamed", data=dict(pipeline="stream"))
  assert int(streamed.step) == 2 * STEPS_PER_EPOCH + 6
  assert_same_state(streamed, resident, atol=0.0, noise_atol=0.0)


@pytest.mark.slow
def test_auto_streams_a_tfds_dataset_over_the_budget(caplog):
  config = schema.default_config()
  config.data.resident_budget_mib = 1
  with caplog.at_level(logging.INFO, logger="jaxgan"):
    data = train_set.load(config)
  assert data.arrays is None and len(data.source) == 60000 and data.image_shape == (28, 28, 1)
  assert any("streaming the training set: its 44 MiB exceed the resident budget of 1 MiB"
             in r.getMessage() for r in caplog.records)
  images_N, labels_N = splits.load_split(config.data, "train")
  idx_B = np.array([59999, 3, 17, 3])
  images_B, labels_B = data.source.read(idx_B)
  np.testing.assert_array_equal(images_B, images_N[idx_B])
  np.testing.assert_array_equal(labels_B, labels_N[idx_B])
  config.data.resident_budget_mib = 64
  assert train_set.load(config).arrays is not None


def test_a_streamed_folder_skips_unopenable_files_and_names_one_that_fails_to_decode(
    tmp_path, caplog):
  rng_np = np.random.default_rng(0)
  for i in range(20):
    Image.fromarray(rng_np.integers(0, 256, (8, 8, 3), np.uint8)).save(tmp_path / f"{i:02d}.png")
  (tmp_path / "junk.png").write_bytes(b"not an image")
  whole = (tmp_path / "05.png").read_bytes()
  (tmp_path / "05.png").write_bytes(whole[:len(whole) // 2])  # Its header still reads.
  config = schema.default_config().data
  config.source, config.folder = "folder", str(tmp_path)
  with caplog.at_level(logging.WARNING, logger="jaxgan"):
    source = sources.open_source(config, "train")
  assert len(source) == 20 and source.image_shape == (8, 8, 3)
  assert [r.getMessage() for r in caplog.records] == [
      f"skipped 1 unreadable image file(s): {tmp_path / 'junk.png'} (not an image)"]
  with pytest.raises(DataError, match=r"^cannot read image .*05\.png: OSError: image file is trunc"):
    _streamed(source, jax.random.PRNGKey(0), 0, 2)  # 20 examples: every one read by step 1.


@pytest.mark.slow
def test_a_streamed_run_that_meets_a_broken_image_stops_in_one_line_with_its_steps_saved(tmp_path):
  rng_np = np.random.default_rng(0)
  folder = tmp_path / "images"
  folder.mkdir()
  for i in range(64):
    Image.fromarray(rng_np.integers(0, 256, (28, 28), np.uint8)).save(folder / f"{i:02d}.png")
  config = smoke.get_config()
  config.data.update(source="folder", folder=str(folder), pipeline="stream")
  config.update(num_steps=4, eval_every_steps=0, checkpoint_every_steps=100)
  workdir = str(tmp_path / "run")
  loop.train_and_evaluate(config, workdir)
  whole = (folder / "05.png").read_bytes()
  (folder / "05.png").write_bytes(whole[:len(whole) // 2])
  config.num_steps = 100  # Four steps an epoch: 05.png is met within the next epoch, after step 4.
  with pytest.raises(DataError, match=r"^cannot read image .*05\.png: OSError") as failure:
    loop.train_and_evaluate(config, workdir)
  assert "\n" not in str(failure.value)
  saved = checkpoint_lib.Checkpoints(os.path.join(workdir, workdir_lib.LATEST_DIR)).all_steps()
  assert saved[-1] > 4  # The steps trained before the broken file was met are saved.
