"""Data layer: IDX reading, offline TFDS import and loading, device-resident batches, sharding."""

import gzip
import logging
import os
import sys
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxgan import parallel
from jaxgan.config import schema, validation
from jaxgan.config.presets import smoke
from jaxgan.core import gan, step_fns
from jaxgan.data import batches, idx, splits
from jaxgan.errors import ConfigError, DataError
from tests import processes
from tests.conftest import REPO_ROOT

MNIST_TRAIN_HISTOGRAM = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def _write_idx(path, array_uint8, magic):
  header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array_uint8.shape)
  with gzip.open(path, "wb") as f:
    f.write(header + array_uint8.tobytes())


def _write_tiny_idx_dir(path, num_train=100, num_test=20, seed=0):
  rng = np.random.default_rng(seed)
  arrays = {}
  for split, n in (("train", num_train), ("test", num_test)):
    images_NxHxW = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels_N = rng.integers(0, 10, n, dtype=np.uint8)
    images_name, labels_name = idx.IDX_FILES[split]
    _write_idx(os.path.join(path, images_name), images_NxHxW, 2051)
    _write_idx(os.path.join(path, labels_name), labels_N, 2049)
    arrays[split] = (images_NxHxW[..., None], labels_N.astype(np.int32))
  return arrays


def _sorted_rows(images_NxHxWxC, labels_N):
  """The examples as sorted byte rows, to compare datasets as (multi)sets."""
  rows = np.concatenate([images_NxHxWxC.reshape(len(labels_N), -1),
                         np.asarray(labels_N, np.uint8)[:, None]], axis=1)
  return rows[np.lexsort(rows.T[::-1])]


def _data_config(**overrides):
  config = ml_collections.ConfigDict(dict(
      dataset="mnist", source="tfds", idx_dir="", tfds_data_dir="", range="unit"))
  config.update(overrides)
  return config


def _run(args, env_overrides=None, timeout=60):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env_overrides or {}))
  start = time.perf_counter()
  result = processes.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         timeout=timeout, check=False)
  return result, time.perf_counter() - start


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
  """Tiny IDX files (100 train, 20 test) and a TFDS data dir prepared from them."""
  from jaxgan.data import tfds_offline  # pylint: disable=import-outside-toplevel
  idx_dir = tmp_path_factory.mktemp("idx")
  arrays = _write_tiny_idx_dir(idx_dir)
  tfds_dir = tmp_path_factory.mktemp("tfds")
  tfds_offline.prepare("mnist", str(idx_dir), str(tfds_dir))
  return dict(idx_dir=str(idx_dir), tfds_dir=str(tfds_dir), arrays=arrays)


def test_read_idx_split_reads_what_was_written(tmp_path):
  arrays = _write_tiny_idx_dir(tmp_path)
  for split in ("train", "test"):
    images, labels = idx.read_idx_split(str(tmp_path), split)
    assert images.dtype == np.uint8 and labels.dtype == np.int32
    np.testing.assert_array_equal(images, arrays[split][0])
    np.testing.assert_array_equal(labels, arrays[split][1])


@pytest.mark.parametrize("value_range,low,high", [("unit", 0.0, 1.0), ("symmetric", -1.0, 1.0)])
def test_every_pixel_value_round_trips_through_each_range(value_range, low, high):
  pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
  floats = np.asarray(batches.to_float(pixels, value_range))
  assert floats.min() == low and floats.max() == high
  np.testing.assert_allclose(np.diff(floats.reshape(-1)), (high - low) / 255, rtol=1e-5)
  np.testing.assert_array_equal(batches.to_uint8(floats, value_range), pixels)
  assert floats.dtype == np.float32 and batches.to_uint8(floats, value_range).dtype == jnp.uint8
  # Out-of-range generator outputs clip to the ends.
  np.testing.assert_array_equal(batches.to_uint8(jnp.array([low - 1, high + 1]), value_range),
                                [0, 255])


@pytest.mark.parametrize("damage", ["missing", "not_gzip", "truncated", "bad_magic"])
def test_bad_idx_file_is_a_one_line_data_error(tmp_path, damage):
  _write_tiny_idx_dir(tmp_path)
  path = tmp_path / idx.IDX_FILES["train"][0]
  if damage == "missing":
    path.unlink()
  elif damage == "not_gzip":
    path.write_bytes(b"not a gzip file")
  elif damage == "truncated":
    with gzip.open(path, "rb") as f:
      raw = f.read()
    with gzip.open(path, "wb") as f:
      f.write(raw[:-100])
  else:
    _write_idx(path, np.zeros((3, 28, 28), np.uint8), 2049)
  with pytest.raises(DataError) as error:
    idx.read_idx_split(str(tmp_path), "train")
  assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_import_then_stock_tfds_data_source_reads_back_exactly(tiny):
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  variant = os.path.join(tiny["tfds_dir"], "mnist", "3.0.1")
  assert any(name.endswith("array_record-00000-of-00001") for name in os.listdir(variant))
  for split, (images, labels) in tiny["arrays"].items():
    source = tfds.data_source("mnist", split=split, data_dir=tiny["tfds_dir"], download=False)
    examples = [source[i] for i in range(len(source))]
    loaded_images = np.stack([e["image"] for e in examples])
    assert loaded_images.shape == images.shape and loaded_images.dtype == np.uint8
    np.testing.assert_array_equal(_sorted_rows(loaded_images, [e["label"] for e in examples]),
                                  _sorted_rows(images, labels))


def test_prepare_is_idempotent_and_rewrites_nothing_the_second_time(tiny):
  from jaxgan.data import tfds_offline  # pylint: disable=import-outside-toplevel
  variant = tfds_offline.variant_dir("mnist", tiny["tfds_dir"])
  before = {f: os.stat(os.path.join(variant, f)).st_mtime_ns for f in os.listdir(variant)}
  assert tfds_offline.prepare("mnist", tiny["idx_dir"], tiny["tfds_dir"]) == variant
  assert {f: os.stat(os.path.join(variant, f)).st_mtime_ns for f in os.listdir(variant)} == before


def test_mnist_checksums_flag_files_that_differ(tiny):
  from jaxgan.data import tfds_offline  # pylint: disable=import-outside-toplevel
  warnings = tfds_offline.check_mnist_sha256(tiny["idx_dir"])
  assert len(warnings) == 4
  for name, line in zip(tfds_offline.MNIST_SHA256, warnings):
    assert name in line and "differs from the canonical" in line and "\n" not in line


def test_tfds_source_equals_idx_source_and_prepares_itself_from_idx_dir(tiny, tmp_path, caplog):
  caplog.set_level(logging.INFO, logger="jaxgan")
  fresh_tfds_dir = str(tmp_path / "tfds")
  tfds_config = _data_config(idx_dir=tiny["idx_dir"], tfds_data_dir=fresh_tfds_dir)
  idx_config = _data_config(source="idx", idx_dir=tiny["idx_dir"])
  for split, n in (("train", 100), ("test", 20)):
    tfds_images, tfds_labels = splits.load_split(tfds_config, split)
    idx_images, idx_labels = splits.load_split(idx_config, split)
    assert tfds_images.shape == idx_images.shape == (n, 28, 28, 1)
    assert tfds_images.dtype == idx_images.dtype == np.uint8
    assert tfds_labels.dtype == idx_labels.dtype == np.int32
    np.testing.assert_array_equal(_sorted_rows(tfds_images, tfds_labels),
                                  _sorted_rows(idx_images, idx_labels))
  preparing = [r.getMessage() for r in caplog.records if "Preparing" in r.getMessage()]
  assert len(preparing) == 1 and fresh_tfds_dir in preparing[0]


def test_missing_tfds_data_offline_fails_fast_with_one_line(tmp_path):
  code = (
      "import sys, ml_collections\n"
      "from jaxgan.data import splits\n"
      "from jaxgan.errors import JaxganError\n"
      "config = ml_collections.ConfigDict(dict(dataset='mnist', source='tfds', idx_dir='',"
      " tfds_data_dir='', range='unit'))\n"
      "try:\n"
      "  splits.load_split(config, 'train')\n"
      "except JaxganError as e:\n"
      "  print(e, file=sys.stderr)\n"
      "  sys.exit(e.exit_code)\n")
  empty_dir = str(tmp_path / "no_tfds_here")
  no_data = {"TFDS_DATA_DIR": empty_dir, "JAXGAN_MNIST_IDX_DIR": ""}
  result, seconds = _run([sys.executable, "-c", code], no_data, timeout=30)
  assert result.returncode == 1 and seconds < 30
  assert "Traceback" not in result.stderr
  message = result.stderr.strip().splitlines()[-1]
  assert empty_dir in message
  assert "python -m experiments.import_mnist" in message and "--idx_dir=" in message
  assert "--config.data.source=idx --config.data.idx_dir=" in message


@pytest.mark.slow
def test_import_mnist_cli_missing_idx_files_is_one_line(tmp_path):
  result, seconds = _run([sys.executable, "-m", "experiments.import_mnist",
                          f"--idx_dir={tmp_path / 'nowhere'}", f"--tfds_data_dir={tmp_path}"],
                         timeout=30)
  assert result.returncode == 1 and seconds < 30
  assert "Traceback" not in result.stderr
  assert result.stderr.strip().splitlines()[-1].startswith(f"error: cannot read IDX file {tmp_path}")


@pytest.mark.slow
def test_import_mnist_cli_prepares_and_honours_tfds_data_dir(tmp_path):
  idx_dir = tmp_path / "idx"
  idx_dir.mkdir()
  _write_tiny_idx_dir(idx_dir, num_train=30, num_test=10)
  tfds_dir = tmp_path / "tfds"
  args = [sys.executable, "-m", "experiments.import_mnist", f"--idx_dir={idx_dir}",
          "--dataset=fashion_mnist"]
  first, _ = _run(args, {"TFDS_DATA_DIR": str(tfds_dir)}, timeout=120)
  assert first.returncode == 0, first.stderr[-2000:]
  assert os.path.isfile(tfds_dir / "fashion_mnist" / "3.0.1" / "dataset_info.json")
  second, _ = _run(args, {"TFDS_DATA_DIR": str(tfds_dir)}, timeout=60)
  assert second.returncode == 0 and "already prepared" in second.stdout


def test_jaxgan_and_the_idx_source_never_import_tensorflow(tmp_path):
  _write_tiny_idx_dir(tmp_path, num_train=10, num_test=10)
  code = (
      "import sys, ml_collections\n"
      "import jaxgan, jaxgan.data.splits, jaxgan.parallel, jaxgan.training.loop\n"
      "config = ml_collections.ConfigDict(dict(dataset='mnist', source='idx',"
      f" idx_dir={str(tmp_path)!r}, tfds_data_dir='', range='unit'))\n"
      "images, _ = jaxgan.data.splits.load_split(config, 'train')\n"
      "assert images.shape == (10, 28, 28, 1)\n"
      "print(sorted(m for m in sys.modules if m.split('.')[0] in"
      " ('tensorflow', 'tensorflow_datasets')))\n")
  result, _ = _run([sys.executable, "-c", code])
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("field,value", [("dataset", " "), ("source", "web"),
                                         ("range", "bytes"), ("channels", 2),
                                         ("image_size", -1)])
def test_bad_data_config_is_a_config_error_naming_the_field(field, value):
  config = schema.default_config()
  config.data.update(**{field: value})
  with pytest.raises(ConfigError, match=f"config.data.{field}: got {value!r}"):
    validation.validate(config)


def test_idx_source_without_idx_dir_is_a_config_error(monkeypatch):
  monkeypatch.delenv("JAXGAN_MNIST_IDX_DIR", raising=False)
  config = schema.default_config()
  config.data.update(source="idx", idx_dir="")
  with pytest.raises(ConfigError, match="config.data.idx_dir"):
    validation.validate(config)


def test_batches_are_a_pure_function_of_seed_and_step_and_each_epoch_is_a_permutation():
  assert batches.steps_per_epoch(60000, 64) == 937
  n, batch_size = 100, 16
  images_NxHxWxC = jnp.arange(n, dtype=jnp.uint8).reshape(n, 1, 1, 1)
  labels_N = jnp.arange(n, dtype=jnp.int32)
  key = jax.random.PRNGKey(0)
  gather = jax.jit(batches.gather_batch, static_argnums=4)
  for epoch in (0, 1):
    perm_N = batches.epoch_permutation(key, epoch, n)
    np.testing.assert_array_equal(jnp.sort(perm_N), jnp.arange(n))
    np.testing.assert_array_equal(perm_N, batches.epoch_permutation(jax.random.PRNGKey(0), epoch, n))
    seen = []
    for step in range(batches.steps_per_epoch(n, batch_size)):
      images_B, labels_B = gather(images_NxHxWxC, labels_N, perm_N, step, batch_size)
      again_B, _ = gather(images_NxHxWxC, labels_N, perm_N, step, batch_size)
      np.testing.assert_array_equal(images_B, again_B)
      np.testing.assert_array_equal(images_B[:, 0, 0, 0], labels_B)
      seen.append(labels_B)
    seen = np.concatenate(seen)
    assert len(seen) == 96 and len(set(seen.tolist())) == 96  # drop_last: 4 examples left out.
    np.testing.assert_array_equal(seen, perm_N[:96])
  assert not np.array_equal(batches.epoch_permutation(key, 0, n), batches.epoch_permutation(key, 1, n))
  assert not np.array_equal(batches.epoch_permutation(key, 0, n),
                            batches.epoch_permutation(jax.random.PRNGKey(1), 0, n))


def test_train_step_runs_with_the_batch_sharded_over_8_devices():
  mesh = parallel.make_mesh()
  assert mesh.devices.size == 8 and mesh.axis_names == ("data",)
  config = smoke.get_config()
  rng = np.random.default_rng(0)
  images_NxHxWxC = parallel.put_replicated(mesh, rng.integers(0, 256, (64, 28, 28, 1), np.uint8))
  labels_N = parallel.put_replicated(mesh, rng.integers(0, 10, 64).astype(np.int32))
  assert images_NxHxWxC.sharding.is_fully_replicated
  assert len(images_NxHxWxC.addressable_shards) == 8
  batch_size, steps = config.batch_size, batches.steps_per_epoch(64, config.batch_size)
  perm_N = batches.epoch_permutation(jax.random.PRNGKey(config.seed), 0, 64)

  @jax.jit
  def sharded_batch(images, labels, perm):
    batch = batches.gather_batch(images, labels, perm, 1, batch_size)
    return jax.lax.with_sharding_constraint(batch, parallel.batch_sharding(mesh))

  images_B, labels_B = sharded_batch(images_NxHxWxC, labels_N, perm_N)
  for array in (images_B, labels_B):
    assert {shard.data.shape[0] for shard in array.addressable_shards} == {batch_size // 8}
    assert len({shard.device for shard in array.addressable_shards}) == 8

  state, spec = gan.init_state(config, (28, 28, 1))
  state = jax.device_put(state, parallel.replicated(mesh))
  step = step_fns.make_train_steps(spec, batch_size, steps, parallel.batch_sharding(mesh))
  for _ in range(2):
    state, metrics = step(state, images_NxHxWxC, labels_N, jnp.stack([perm_N, perm_N]), 1)
  assert int(state.step) == 2
  assert all(np.isfinite(float(v[0])) for v in metrics.values())


@pytest.mark.slow
def test_real_mnist_import_and_load(mnist_idx_dir, tmp_path):
  from jaxgan.data import tfds_offline  # pylint: disable=import-outside-toplevel
  assert not tfds_offline.check_mnist_sha256(mnist_idx_dir)
  tfds_dir = str(tmp_path / "tfds")
  args = [sys.executable, "-m", "experiments.import_mnist", f"--idx_dir={mnist_idx_dir}",
          f"--tfds_data_dir={tfds_dir}"]
  result, _ = _run(args, timeout=600)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "warning" not in result.stderr

  idx_config = _data_config(source="idx", idx_dir=mnist_idx_dir)
  tfds_config = _data_config(tfds_data_dir=tfds_dir)
  for split, n in (("train", 60000), ("test", 10000)):
    idx_images, idx_labels = splits.load_split(idx_config, split)
    tfds_images, tfds_labels = splits.load_split(tfds_config, split)
    assert idx_images.shape == tfds_images.shape == (n, 28, 28, 1)
    np.testing.assert_array_equal(np.bincount(tfds_labels, minlength=10),
                                  np.bincount(idx_labels, minlength=10))
    np.testing.assert_array_equal(_sorted_rows(tfds_images, tfds_labels),
                                  _sorted_rows(idx_images, idx_labels))
    if split == "train":
      assert np.bincount(tfds_labels, minlength=10).tolist() == MNIST_TRAIN_HISTOGRAM


def test_decoded_arrays_are_cached_and_a_torn_cache_is_decoded_again(tiny, tmp_path):
  import shutil  # pylint: disable=import-outside-toplevel
  tfds_dir = tmp_path / "tfds"
  shutil.copytree(tiny["tfds_dir"], tfds_dir)
  config = _data_config(tfds_data_dir=str(tfds_dir))
  cache = tfds_dir / "mnist" / "3.0.1" / "jaxgan-uint8-train.npz"
  first = splits.load_split(config, "train")
  assert cache.is_file()
  cached = splits.load_split(config, "train")
  with open(cache, "r+b") as f:  # A run killed while writing the cache.
    f.truncate(cache.stat().st_size // 2)
  decoded_again = splits.load_split(config, "train")
  for images, labels in (cached, decoded_again):
    np.testing.assert_array_equal(images, first[0])
    np.testing.assert_array_equal(labels, first[1])
  np.testing.assert_array_equal(_sorted_rows(*first), _sorted_rows(*tiny["arrays"]["train"]))


def test_a_tfrecord_dataset_names_the_command_and_the_import_replaces_it(tmp_path, monkeypatch):
  monkeypatch.delenv("JAXGAN_MNIST_IDX_DIR", raising=False)  # No IDX folder to prepare from.
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel

  from jaxgan.data import tfds_offline  # pylint: disable=import-outside-toplevel
  idx_dir, tfds_dir = tmp_path / "idx", tmp_path / "tfds"
  idx_dir.mkdir()
  arrays = _write_tiny_idx_dir(idx_dir, num_train=30, num_test=10)
  tfds_offline.BUILDERS["mnist"](idx_dir=str(idx_dir), data_dir=str(tfds_dir)).download_and_prepare(
      download_config=tfds.download.DownloadConfig(try_download_gcs=False), file_format="tfrecord")
  assert tfds_offline.prepared_format("mnist", str(tfds_dir)) == "tfrecord"
  with pytest.raises(DataError) as error:
    splits.load_split(_data_config(tfds_data_dir=str(tfds_dir)), "train")
  message = str(error.value)
  assert "\n" not in message and "as tfrecord" in message and "pip install -e '.[prepare]'" in message
  assert f"python -m experiments.import_mnist --dataset=mnist --idx_dir=DIR --tfds_data_dir={tfds_dir}" in message
  images, labels = splits.load_split(_data_config(tfds_data_dir=str(tfds_dir), idx_dir=str(idx_dir)),
                                   "train")
  assert tfds_offline.prepared_format("mnist", str(tfds_dir)) == "array_record"
  np.testing.assert_array_equal(_sorted_rows(images, labels), _sorted_rows(*arrays["train"]))


def test_preparing_without_tensorflow_names_the_extra(tiny, tmp_path, monkeypatch):
  from jaxgan.data import tfds_offline  # pylint: disable=import-outside-toplevel
  monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` now fails.
  with pytest.raises(DataError, match=r"needs TensorFlow: pip install -e '\.\[prepare\]'"):
    tfds_offline.prepare("mnist", tiny["idx_dir"], str(tmp_path))
  assert not os.path.exists(tmp_path / "mnist")


def _tensorflow_loaded_by(module: str, *args: str) -> bool:
  """Runs `python -m module args` in a subprocess; whether `tensorflow` was imported by its exit."""
  code = ("import atexit, runpy, sys\n"
          "atexit.register(lambda: print('tensorflow loaded:', 'tensorflow' in sys.modules))\n"
          f"sys.argv = [{module!r}, *{list(args)!r}]\n"
          f"runpy.run_module({module!r}, run_name='__main__')\n")
  result, _ = _run([sys.executable, "-c", code], timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  return result.stdout.strip().splitlines()[-1] == "tensorflow loaded: True"


@pytest.mark.slow
def test_training_generate_and_evaluate_never_import_tensorflow(tiny, tmp_path):
  workdir = str(tmp_path / "run")
  assert not _tensorflow_loaded_by(
      "experiments.mnist_gan", "--config=experiments/configs/smoke.py", f"--workdir={workdir}",
      f"--config.data.tfds_data_dir={tiny['tfds_dir']}", "--config.num_steps=10",
      "--config.eval_every_steps=5", "--config.eval_num=20", "--config.eval_final_num=20")
  assert not _tensorflow_loaded_by("experiments.generate", f"--workdir={workdir}", "--num=4",
                                   f"--output={tmp_path / 'x.png'}")
  assert not _tensorflow_loaded_by("experiments.evaluate", f"--workdir={workdir}", "--num=20")
  # The check can fail: preparing a dataset does import TensorFlow.
  assert _tensorflow_loaded_by("experiments.import_mnist", f"--idx_dir={tiny['idx_dir']}",
                               f"--tfds_data_dir={tmp_path / 'tfds'}")
