"""Inception FID: the network equals pytorch-fid's (golden features of random weights, no torch
here), the .pth reader and the download/checksum/cache path, clean-fid's resize, the metrics at
small N, and the `experiments.fid` command end to end."""

import functools
import http.server
import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

from jaxgan.errors import DataError
from jaxgan.evaluation import feature_metrics
from jaxgan.evaluation.inception import convert, features, metrics, pth, weights
from tests import processes
from tests.reference import inception_golden as golden

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
BATCH = 4  # One compiled batch shape for every in-process run of the network.


@pytest.fixture(scope="module")
def golden_file():
  with np.load(golden.GOLDEN_PATH) as npz:
    return {k: npz[k] for k in npz.files}


@pytest.fixture(scope="module")
def golden_weights(golden_file):
  return convert.to_flax(golden.expected_state_dict(golden_file))


@pytest.fixture(scope="module")
def extractor(golden_weights):
  return features.Extractor(*golden_weights, batch_size=BATCH)


def _rel(a, b) -> float:
  return float(np.max(np.abs(np.asarray(a, np.float64) - b)) / np.max(np.abs(b)))


# ---------------------------------------------------------------------------------------------
# The network against pytorch-fid.

def test_state_dict_names_and_shapes_are_pytorch_fids(golden_file):
  names = [str(n) for n in golden_file["names"]]
  shapes = convert.torch_shapes()
  assert len(shapes) == 566  # The real file's count: 94 conv+BN layers x 6, fc weight and bias.
  assert names == list(shapes)
  assert np.array_equal(golden_file["shapes"], golden.encode_shapes(shapes))


def test_pool_features_and_logits_equal_pytorch_fids(golden_file, extractor):
  images = golden_file["check_images"]
  assert np.array_equal(images, golden.make_images(**golden.CHECK))
  pool, logits = extractor(images)  # 299x299 input: the resize is the identity, then / 255.
  ref_pool, ref_logits = golden_file["check_pool"], golden_file["check_logits"]
  # Calibrated BatchNorm: features differ across images (else any network would "match").
  assert ref_pool.std(axis=0).mean() > 0.1 * np.abs(ref_pool).mean()
  assert pool.shape == (3, 2048) and logits.shape == (3, 1008) and pool.dtype == np.float32
  # Measured: 8.9e-6 (pool) and 5.0e-6 (logits) of the largest value.
  assert _rel(pool, ref_pool) <= 1e-4
  assert _rel(logits, ref_logits) <= 1e-4
  np.testing.assert_allclose(pool, ref_pool, rtol=1e-4, atol=1e-4 * np.abs(ref_pool).max())


def test_fid_equals_pytorch_fids(golden_file, extractor):
  pool_a, _ = extractor(golden.make_images(**golden.FID_SETS[0]))
  pool_b, _ = extractor(golden.make_images(**golden.FID_SETS[1]))
  ours = metrics.fid_of_features(pool_a, pool_b)
  theirs = metrics.fid_of_features(golden_file["fid_pool_a"], golden_file["fid_pool_b"])
  assert theirs > 1.0  # Two different image distributions.
  assert abs(ours - theirs) / theirs <= 1e-3  # Measured: about 1e-6.


# ---------------------------------------------------------------------------------------------
# Reading .pth files and converting them.

@pytest.mark.parametrize("path", [golden.TINY_ZIP_PATH, golden.TINY_LEGACY_PATH],
                         ids=["zip", "legacy"])
def test_read_pth_of_files_torch_wrote(path):
  state = pth.read_pth(path)
  expected = golden.tiny_state_dict()
  assert list(state) == list(expected)
  for name, value in expected.items():
    assert state[name].dtype == value.dtype and state[name].shape == value.shape, name
    np.testing.assert_array_equal(state[name], value, err_msg=name)


def test_read_pth_round_trips_write_pth(tmp_path):
  expected = golden.tiny_state_dict()
  golden.write_pth(tmp_path / "w.pth", expected)
  state = pth.read_pth(tmp_path / "w.pth")
  for name, value in expected.items():
    np.testing.assert_array_equal(state[name], value, err_msg=name)


def test_read_pth_runs_no_code_and_fails_in_one_line(tmp_path):
  marker = tmp_path / "ran"
  evil = (b"cos\nsystem\n(V" + f"touch {marker}".encode() + b"\ntR.")
  with zipfile.ZipFile(tmp_path / "evil.pth", "w") as z:
    z.writestr("archive/data.pkl", evil)
  with pytest.raises(DataError, match=r"not a readable PyTorch state dict.*os\.system") as info:
    pth.read_pth(tmp_path / "evil.pth")
  assert not marker.exists() and "\n" not in str(info.value)
  (tmp_path / "junk.pth").write_bytes(b"\x80\x02K\x01.")  # A pickle, not torch's magic number.
  with pytest.raises(DataError, match="not a readable PyTorch state dict"):
    pth.read_pth(tmp_path / "junk.pth")


def _random_state_dict(seed: int = 0) -> dict[str, np.ndarray]:
  rng = np.random.default_rng(seed)
  state = {}
  for name, shape in convert.torch_shapes().items():
    if name.endswith(convert.COUNTER):
      state[name] = np.array(0, np.int64)
    else:
      state[name] = rng.random(shape, dtype=np.float32) - np.float32(0.5)
  return state


def test_convert_maps_every_tensor(golden_weights, golden_file):
  state = golden.expected_state_dict(golden_file)
  params, stats = golden_weights
  conv = state["Mixed_6b.branch7x7_2.conv.weight"]  # OIHW (128, 128, 1, 7) -> HWIO.
  np.testing.assert_array_equal(params["mixed_6b"]["branch7x7_2"]["conv"]["kernel"],
                                conv.transpose(2, 3, 1, 0))
  np.testing.assert_array_equal(params["fc"]["kernel"], state["fc.weight"].T)
  bn = params["mixed_7c"]["branch_pool"]["bn"]
  np.testing.assert_array_equal(bn["scale"], state["Mixed_7c.branch_pool.bn.weight"])
  np.testing.assert_array_equal(bn["bias"], state["Mixed_7c.branch_pool.bn.bias"])
  bn_stats = stats["conv2d_1a_3x3"]["bn"]
  np.testing.assert_array_equal(bn_stats["mean"], state["Conv2d_1a_3x3.bn.running_mean"])
  np.testing.assert_array_equal(bn_stats["var"], state["Conv2d_1a_3x3.bn.running_var"])
  count = sum(v.size for v in convert.flatten(params).values()) + sum(
      v.size for v in convert.flatten(stats).values())
  assert count == sum(v.size for k, v in state.items())


def test_convert_names_the_bad_key():
  state = {k: np.zeros(s, np.float32) for k, s in convert.torch_shapes(False).items()}
  state["Mixed_5c.branch5x5_2.conv.weight"] = np.zeros((64, 48, 3, 3), np.float32)
  with pytest.raises(DataError, match=r"key Mixed_5c\.branch5x5_2\.conv\.weight: shape "
                     r"\(64, 48, 3, 3\), expected \(64, 48, 5, 5\)"):
    convert.to_flax(state)
  del state["fc.bias"]
  with pytest.raises(DataError, match="key fc.bias is missing"):
    convert.to_flax(state)


# ---------------------------------------------------------------------------------------------
# Download, checksum, conversion and cache; the offline failure.

@pytest.fixture
def http_dir(tmp_path):
  """(folder, base URL): a folder served over HTTP on 127.0.0.1 for the test's duration."""
  folder = tmp_path / "served"
  folder.mkdir()

  class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
      pass

  server = http.server.ThreadingHTTPServer(
      ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  yield folder, f"http://127.0.0.1:{server.server_address[1]}"
  server.shutdown()
  server.server_close()


def _closed_port_url() -> str:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  return f"http://127.0.0.1:{port}/{weights.FILENAME}"


def test_download_checks_converts_and_caches(http_dir, tmp_path, monkeypatch):
  folder, base = http_dir
  state = _random_state_dict()
  golden.write_pth(folder / weights.FILENAME, state)
  sha = weights.sha256_of(folder / weights.FILENAME)
  monkeypatch.setenv(weights.URL_ENV, f"{base}/{weights.FILENAME}")
  cache = tmp_path / "cache"
  params, stats = weights.load(sha256=sha, cache=cache)
  expected_params, expected_stats = convert.to_flax(state)
  for got, want in ((params, expected_params), (stats, expected_stats)):
    flat_got, flat_want = convert.flatten(got), convert.flatten(want)
    assert flat_got.keys() == flat_want.keys()
    for key in flat_want:
      np.testing.assert_array_equal(flat_got[key], flat_want[key], err_msg=key)
  cached = list((cache / "inception").iterdir())
  assert [p.name for p in cached] == [f"pt_inception-2015-12-05-{sha[:8]}.npz"]
  # From the cache, with no network (and no download attempted).
  monkeypatch.setenv(weights.URL_ENV, _closed_port_url())
  again, _ = weights.load(sha256=sha, cache=cache)
  np.testing.assert_array_equal(again["fc"]["kernel"], expected_params["fc"]["kernel"])
  # The real file's cache name is not taken by another file's weights.
  with pytest.raises(DataError, match="no Inception weights"):
    weights.load(cache=cache)


def test_checksum_mismatch_fails_in_one_line_and_caches_nothing(http_dir, tmp_path):
  folder, base = http_dir
  golden.write_pth(folder / weights.FILENAME, golden.tiny_state_dict())
  cache = tmp_path / "cache"
  with pytest.raises(DataError, match=r"sha256 .*, expected 6726825d0af5f729.*nothing cached"
                     ) as info:
    weights.load(url=f"{base}/{weights.FILENAME}", cache=cache)
  assert "\n" not in str(info.value)
  assert not any(p.is_file() for p in cache.rglob("*"))


def test_no_network_and_no_cache_fails_fast_in_one_line(tmp_path):
  for url, timeout in ((_closed_port_url(), 5.0), ("http://fid-weights.invalid/w.pth", 2.0),
                       ("http://10.255.255.1/w.pth", 1.0)):
    start = time.monotonic()
    with pytest.raises(DataError, match="no Inception weights for FID.*--fid_weights=PATH"
                       ) as info:
      weights.load(url=url, cache=tmp_path / "cache", timeout=timeout)
    assert time.monotonic() - start < timeout + 2.0, url
    assert "\n" not in str(info.value)
  assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))


def test_weights_from_a_path_brought_by_hand(tmp_path):
  golden.write_pth(tmp_path / "w.pth", _random_state_dict(1))
  sha = weights.sha256_of(tmp_path / "w.pth")
  params, _ = weights.load(tmp_path / "w.pth", sha256=sha, cache=tmp_path / "cache")
  assert params["mixed_7b"]["branch3x3_2a"]["conv"]["kernel"].shape == (1, 3, 384, 384)
  assert (tmp_path / "cache" / "inception").is_dir()
  with pytest.raises(DataError, match=r"w\.pth: sha256 .*not pytorch-fid's"):
    weights.load(tmp_path / "w.pth", cache=tmp_path / "other")
  with pytest.raises(DataError, match="no such file"):
    weights.load(tmp_path / "missing.pth", cache=tmp_path / "other")


# ---------------------------------------------------------------------------------------------
# clean-fid's resize, checked against PIL's bicubic algorithm written out in numpy.

def _pil_bicubic_matrix(in_size: int, out_size: int) -> np.ndarray:
  """out_size x in_size weights of PIL's bicubic resampling (a = -0.5, support scaled when
  shrinking, taps renormalised at the borders), in float64."""

  def cubic(x):
    x, a = abs(x), -0.5
    if x < 1:
      return ((a + 2) * x - (a + 3)) * x * x + 1
    return (((x - 5) * x + 8) * x - 4) * a if x < 2 else 0.0

  scale = in_size / out_size
  filterscale = max(scale, 1.0)
  support = 2.0 * filterscale
  matrix = np.zeros((out_size, in_size))
  for i in range(out_size):
    center = (i + 0.5) * scale
    lo, hi = max(int(center - support + 0.5), 0), min(int(center + support + 0.5), in_size)
    taps = np.array([cubic((x - center + 0.5) / filterscale) for x in range(lo, hi)])
    matrix[i, lo:hi] = taps / taps.sum()
  return matrix


@pytest.mark.parametrize("shape", [(28, 28), (17, 23, 3), (400, 350, 3)])
def test_preprocess_is_clean_fids_float_bicubic(shape):
  img = np.random.RandomState(0).randint(0, 256, shape).astype(np.uint8)
  out = features.preprocess(img)
  assert out.shape == (299, 299, 3) and out.dtype == np.float32
  rows, cols = _pil_bicubic_matrix(shape[0], 299), _pil_bicubic_matrix(shape[1], 299)
  channels = img.reshape(*shape[:2], -1).astype(np.float64)
  expected = np.stack([rows @ channels[:, :, c] @ cols.T for c in range(channels.shape[-1])], -1)
  expected = np.clip(expected, 0, 255) / 255
  if expected.shape[-1] == 1:
    expected = np.repeat(expected, 3, axis=-1)
  # No quantisation to uint8 (up to 2e-3 off) and not PIL's 8-bit fixed point: float through.
  np.testing.assert_allclose(out, expected, atol=2e-6, rtol=0)
  np.testing.assert_allclose(features.preprocess(img.astype(np.float32) / 255), out, atol=1e-6)


def test_preprocess_rejects_what_it_cannot_read():
  with pytest.raises(DataError, match=r"in \[0, 1\]"):
    features.preprocess(np.full((8, 8, 3), -1.0, np.float32))
  with pytest.raises(DataError, match="uint8 or float"):
    features.preprocess(np.zeros((8, 8, 3), np.int16))
  with pytest.raises(DataError, match="shape"):
    features.preprocess(np.zeros((8, 8, 2), np.uint8))


# ---------------------------------------------------------------------------------------------
# Metrics at small N, the Inception Score, sources and the statistics cache.

@pytest.mark.parametrize("num", [2, 10, 100])
def test_fid_of_few_samples_is_a_finite_float(num):
  rng = np.random.RandomState(num)
  bias = rng.randn(1008).astype(np.float32)
  a = metrics.set_stats(np.abs(rng.randn(num, 2048)), rng.randn(num, 1008), bias)
  b = metrics.set_stats(np.abs(rng.randn(num, 2048)) + 0.1, rng.randn(num, 1008), bias)
  value = metrics.fid(a, b)
  assert type(value) is float and np.isfinite(value) and value > 0
  assert abs(metrics.fid(a, a)) < 1e-6 * value
  result = metrics.compare(a, b, kid_subsets=3)
  assert all(np.isfinite(result[k]) for k in ("fid", "kid", "is_real", "is_fake"))
  assert (result["precision"] is None) == (num <= metrics.PR_K)


@pytest.mark.parametrize("num", [2, 10, 300])
def test_fid_of_features_is_feature_metrics_frechet_distance(num):
  """The exact small-N path equals feature_metrics' clipped-eigenvalue one (at 256 features, so
  that its eigendecompositions are quick); above N = F it is that function."""
  rng = np.random.RandomState(num)
  x, y = np.abs(rng.randn(num, 256)), np.abs(rng.randn(num + 1, 256)) * 1.5
  reference = feature_metrics.fcd(x, y)
  assert np.isfinite(reference) and isinstance(reference, float)
  assert metrics.fid_of_features(x, y) == pytest.approx(reference, rel=1e-6, abs=1e-3)
  assert abs(metrics.fid_of_features(x, x)) < 1e-9


def test_fid_needs_two_images():
  with pytest.raises(DataError, match="at least 2 images"):
    metrics.set_stats(np.ones((1, 2048)), np.zeros((1, 1008)), np.zeros(1008))


def test_inception_score_is_torch_fidelitys():
  rng = np.random.RandomState(0)
  one_class = np.zeros((20, 1008))
  one_class[:, 5] = 50.0
  assert metrics.inception_score(one_class) == pytest.approx((1.0, 0.0))
  balanced = np.zeros((40, 1008))
  balanced[np.arange(40), np.arange(40) % 4] = 60.0
  assert metrics.inception_score(balanced, splits=1)[0] == pytest.approx(4.0, rel=1e-6)
  # 10 shuffled splits (RandomState(2020)), each exp(E KL) of its softmax.
  logits = rng.randn(50, 1008) * 3
  order = np.random.RandomState(2020).permutation(50)
  per_split = []
  for i in range(10):
    p = np.exp(logits[order[i * 5:(i + 1) * 5]])
    p /= p.sum(axis=1, keepdims=True)
    per_split.append(np.exp(np.mean(np.sum(p * np.log(p / p.mean(axis=0)), axis=1))))
  assert metrics.inception_score(logits) == pytest.approx((np.mean(per_split),
                                                           np.std(per_split)), rel=1e-9)
  # The score is taken from the logits without the fc bias.
  bias = rng.randn(1008) * 5
  stats = metrics.set_stats(np.abs(rng.randn(50, 2048)), logits + bias, bias)
  assert stats.inception_score == pytest.approx(metrics.inception_score(logits), rel=1e-9)


def _write_images(folder: pathlib.Path, seed: int, num: int, grey: bool = False):
  rng = np.random.RandomState(seed)
  (folder / "sub").mkdir(parents=True)
  for i in range(num):
    shape = (32, 32) if grey else (32, 32, 3)
    img = Image.fromarray(rng.randint(0, 256, shape).astype(np.uint8))
    img.save(folder / ("sub" if i % 2 else ".") / f"{i}.png")


class _CountingExtractor:
  """Stands in for the network: deterministic features of the images, counting its calls."""
  fc_bias = np.zeros(1008, np.float32)

  def __init__(self):
    self.calls = 0

  def __call__(self, images, num=None):
    self.calls += 1
    rows = [features.preprocess(img)[::60, ::60].reshape(-1) for img in images]
    pool = np.tile(np.stack(rows), (1, 2048 // 75 + 1))[:, :2048]
    return pool.astype(np.float32), np.zeros((len(rows), 1008), np.float32)


def test_sources_and_their_cached_statistics(tmp_path):
  _write_images(tmp_path / "set", 0, 6)
  source = features.open_source(tmp_path / "set")
  assert source.kind == "folder" and source.num == 6
  first_hash = source.content_hash()
  extractor = _CountingExtractor()
  stats = metrics.source_stats(source, extractor)
  cached = list(tmp_path.glob("set.fid_stats-*.npz"))
  assert [p.name for p in cached] == [f"set.fid_stats-{first_hash[:16]}-6726825d.npz"]
  again = metrics.source_stats(features.open_source(tmp_path / "set"), extractor)
  assert extractor.calls == 1  # Read from the cache.
  np.testing.assert_array_equal(again.sigma, stats.sigma)
  np.testing.assert_array_equal(again.sq_radii, stats.sq_radii)
  # A changed image is a new key.
  Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "set" / "sub" / "1.png")
  changed = features.open_source(tmp_path / "set")
  assert changed.content_hash() != first_hash
  metrics.source_stats(changed, extractor)
  assert extractor.calls == 2
  # A .npy source: NxHxW uint8 (grey).
  np.save(tmp_path / "a.npy", np.zeros((3, 9, 9), np.uint8))
  npy = features.open_source(tmp_path / "a.npy")
  assert npy.num == 3 and next(npy.images()).shape == (9, 9)


def test_bad_sources_fail_in_one_line(tmp_path):
  (tmp_path / "empty").mkdir()
  np.save(tmp_path / "bad.npy", np.zeros((3, 9, 9, 2), np.int16))
  (tmp_path / "broken").mkdir()
  (tmp_path / "broken" / "x.png").write_bytes(b"not a png")
  for path, message in ((tmp_path / "missing", "no such file"),
                        (tmp_path / "empty", "no PNG or JPEG"),
                        (tmp_path / "bad.npy", "expected images as uint8")):
    with pytest.raises(DataError, match=message):
      features.open_source(path)
  with pytest.raises(DataError, match="cannot read the image"):
    next(features.open_source(tmp_path / "broken").images())


# ---------------------------------------------------------------------------------------------
# The command.

def _run_fid(args, env_extra) -> subprocess.CompletedProcess:
  env = dict(os.environ, **env_extra)
  return processes.run([sys.executable, "-m", "experiments.fid", *args], cwd=REPO_ROOT, env=env,
                       capture_output=True, text=True, timeout=300, check=False)


def test_fid_command_end_to_end(tmp_path, golden_weights, extractor):
  _write_images(tmp_path / "real", 1, 5, grey=True)
  fake = np.random.RandomState(2).randint(0, 256, (5, 40, 40, 3)).astype(np.uint8)
  np.save(tmp_path / "fake.npy", fake)
  weights.save_cache(*golden_weights, cache=tmp_path / "cache")  # As the real weights' cache.
  env = {"JAXGAN_CACHE_DIR": str(tmp_path / "cache"), weights.URL_ENV: _closed_port_url()}
  proc = _run_fid([str(tmp_path / "real"), "--batch_size", "5", str(tmp_path / "fake.npy")], env)
  assert proc.returncode == 0, proc.stderr
  lines = proc.stdout.strip().splitlines()
  assert len(lines) == 1
  result = json.loads(lines[0])
  assert result["num_real"] == 5 and result["num_fake"] == 5
  assert 0 <= result["precision"] <= 1 and 0 <= result["recall"] <= 1
  assert result["is_real"] >= 1 and result["kid_std"] >= 0
  # The same numbers as the library in this process (another batch size: float rounding only).
  real = metrics.set_stats(*extractor(features.open_source(tmp_path / "real").images()),
                           extractor.fc_bias)
  fake_stats = metrics.set_stats(*extractor(fake), extractor.fc_bias)
  assert result["fid"] == pytest.approx(metrics.fid(real, fake_stats), rel=1e-3)
  assert result["is_fake"] == pytest.approx(fake_stats.inception_score[0], rel=1e-3)
  assert len(list(tmp_path.glob("real.fid_stats-*.npz"))) == 1


def test_fid_command_bad_input_is_one_line(tmp_path):
  env = {"JAXGAN_CACHE_DIR": str(tmp_path / "cache"), weights.URL_ENV: _closed_port_url()}
  (tmp_path / "a").mkdir()
  proc = _run_fid([str(tmp_path / "a"), str(tmp_path / "missing")], env)
  assert proc.returncode == 1
  assert proc.stderr.strip().splitlines() == [f"error: {tmp_path / 'a'}: no PNG or JPEG images "
                                               "in this folder or below it"]
  proc = _run_fid([str(tmp_path / "a")], env)
  assert proc.returncode == 2 and "expected two image sets" in proc.stderr
  assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
  # Offline, no cached weights and no --fid_weights: one line, at once.
  _write_images(tmp_path / "b", 0, 2)
  start = time.monotonic()
  proc = _run_fid([str(tmp_path / "b"), str(tmp_path / "b")], env)
  assert proc.returncode == 1 and time.monotonic() - start < 60
  (line,) = proc.stderr.strip().splitlines()
  assert line.startswith("error: no Inception weights for FID") and "--fid_weights=PATH" in line


@pytest.mark.slow
def test_an_unlabelled_folder_run_gets_fid_kid_and_precision_recall_in_training_and_evaluate(
    tmp_path, golden_weights, extractor):
  """A run on a folder with no class subfolders has no evaluator classifier, yet with
  config.eval_features=inception its evaluations during training keep the best checkpoint by FID,
  and `evaluate --features=inception` scores it too, against the folder's held-out images (every
  7th)."""
  rng = np.random.RandomState(0)
  (tmp_path / "images").mkdir()
  for i in range(35):
    Image.fromarray(rng.randint(0, 256, (28, 28)).astype(np.uint8)).save(
        tmp_path / "images" / f"{i}.png")
  weights.save_cache(*golden_weights, cache=tmp_path / "cache")  # As the real weights' cache.
  env = {"JAXGAN_CACHE_DIR": str(tmp_path / "cache"), weights.URL_ENV: _closed_port_url()}
  run = lambda module, *args: processes.run(
      [sys.executable, "-m", module, *args], cwd=REPO_ROOT, env=dict(os.environ, **env),
      capture_output=True, text=True, timeout=600, check=False)
  workdir = tmp_path / "run"
  train = run("experiments.mnist_gan", "--config=experiments/configs/smoke.py",
              f"--workdir={workdir}", "--config.data.source=folder",
              f"--config.data.folder={tmp_path / 'images'}", "--config.num_steps=2",
              "--config.batch_size=8", "--config.eval_features=inception",
              "--config.eval_every_steps=1", "--config.eval_num=6", "--config.eval_final_num=6")
  assert train.returncode == 0, train.stderr[-2000:]
  assert "eval at step 2, N=6: FID " in train.stdout and "final eval at step 2, N=6: FID" in train.stdout
  during = json.loads((workdir / "eval_inception.json").read_text())
  assert (during["step"], during["num"], during["num_real"]) == (2, 6, 5)
  assert (workdir / "checkpoints_best").is_dir() and not (workdir / "eval.json").exists()
  classifier_eval = run("experiments.evaluate", f"--workdir={workdir}", "--num=6")
  assert classifier_eval.returncode == 2 and "no evaluator" in classifier_eval.stderr
  result = run("experiments.evaluate", f"--workdir={workdir}", "--num=6", "--features=inception")
  assert result.returncode == 0, result.stderr[-2000:]
  record = json.loads(result.stdout.strip().splitlines()[-1])
  assert (record["features"], record["num_fake"], record["num_real"]) == ("inception", 6, 5)
  assert np.isfinite(record["fid"]) and 0 <= record["precision"] <= 1 and record["kid_std"] >= 0
  assert record["fid"] == pytest.approx(during["fid"], rel=1e-4)  # The same samples and network.
  assert json.loads((workdir / "eval_inception.json").read_text()) == record
  real = np.stack([np.asarray(Image.open(tmp_path / "images" / f"{i}.png"))
                   for i in sorted(range(35), key=str)])  # The folder's order: by file name.
  assert record["is_real"] == pytest.approx(metrics.set_stats(
      *extractor(real[6::7]), extractor.fc_bias).inception_score[0], rel=1e-3)
