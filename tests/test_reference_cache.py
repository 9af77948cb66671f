"""The user's cache folder, and the evaluator's real reference kept in it."""

import json
import logging
import pathlib

import numpy as np
import pytest

from jaxgan.evaluation import classifier, disk_cache, feature_metrics, reference_cache

ARRAYS = reference_cache.ARRAYS


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
  monkeypatch.setenv("JAXGAN_CACHE_DIR", str(tmp_path / "a"))
  assert disk_cache.cache_dir() == tmp_path / "a"
  monkeypatch.delenv("JAXGAN_CACHE_DIR")
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
  assert disk_cache.cache_dir() == tmp_path / "xdg" / "jaxgan"


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary_one(tmp_path):
  path = tmp_path / "cache" / "x.npz"
  disk_cache.save_npz(path, {"a": np.arange(3)})

  def half_then_fail(f):
    f.write(b"half")
    raise OSError("disk full")

  with pytest.raises(OSError, match="disk full"):
    disk_cache.write_atomically(path, half_then_fail)
  np.testing.assert_array_equal(disk_cache.load_npz(path)["a"], np.arange(3))
  assert [p.name for p in path.parent.iterdir()] == ["x.npz"]


@pytest.fixture(scope="module")
def evaluator():
  return classifier.load_evaluator()


@pytest.fixture
def images(monkeypatch, tmp_path):
  """(test, held-out) uint8 image sets, with the cache in a fresh folder."""
  monkeypatch.setenv("JAXGAN_CACHE_DIR", str(tmp_path / "cache"))
  rng = np.random.default_rng(0)
  return (rng.integers(0, 256, (60, 28, 28, 1), np.uint8),
          rng.integers(0, 256, (40, 28, 28, 1), np.uint8))


def _assert_equal(a: classifier.RealReference, b: classifier.RealReference):
  for name in ARRAYS:
    np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_a_cached_reference_is_the_computed_one_without_running_the_evaluator(
    evaluator, images, monkeypatch):
  computed = reference_cache.cached_reference(evaluator, *images)
  _assert_equal(computed, classifier.make_reference(evaluator, *images))
  assert reference_cache.reference_path(evaluator, *images).is_file()

  def no_evaluator(*args, **kwargs):
    raise AssertionError("the evaluator ran on a cached reference")

  monkeypatch.setattr(classifier, "features_and_logits", no_evaluator)
  cached = reference_cache.cached_reference(evaluator, *images)
  _assert_equal(cached, computed)
  assert cached.baselines == {} and cached.baselines is not computed.baselines


def test_baselines_are_kept_beside_the_reference(evaluator, images, monkeypatch):
  reference = reference_cache.cached_reference(evaluator, *images)
  computed = classifier.real_baseline(reference, 30, kid_subsets=3)
  assert computed == classifier.real_baseline(classifier.make_reference(evaluator, *images), 30,
                                              kid_subsets=3)

  def no_metrics(*args, **kwargs):
    raise AssertionError("a cached baseline was computed again")

  monkeypatch.setattr(classifier, "set_metrics", no_metrics)
  again = reference_cache.cached_reference(evaluator, *images)
  assert classifier.real_baseline(again, 30, kid_subsets=3) == computed
  with pytest.raises(AssertionError, match="computed again"):
    classifier.real_baseline(again, 30, kid_subsets=4)


def test_damaged_baselines_are_computed_again_with_a_warning(evaluator, images, caplog):
  reference = reference_cache.cached_reference(evaluator, *images)
  computed = classifier.real_baseline(reference, 30, kid_subsets=3)
  reference.baselines.path.write_text('[{"num": 30')
  with caplog.at_level(logging.WARNING, logger="jaxgan"):
    again = reference_cache.cached_reference(evaluator, *images)
  assert "unreadable cached real baselines" in caplog.text
  assert classifier.real_baseline(again, 30, kid_subsets=3) == computed
  assert len(json.loads(reference.baselines.path.read_text())) == 1


def test_other_images_or_another_evaluator_have_another_file(evaluator, images):
  test, heldout = images
  path = reference_cache.reference_path(evaluator, test, heldout)
  assert reference_cache.reference_path(evaluator, test.copy(), heldout.copy()) == path
  one_pixel = test.copy()
  one_pixel[3, 10, 10, 0] ^= 1
  other_params = {**evaluator.params, "out": {**evaluator.params["out"],
                                              "bias": evaluator.params["out"]["bias"] + 1e-6}}
  others = [reference_cache.reference_path(evaluator, one_pixel, heldout),
            reference_cache.reference_path(evaluator, test, heldout[:-1]),
            reference_cache.reference_path(evaluator, heldout, test),
            reference_cache.reference_path(evaluator, test.astype(np.float32) / 255, heldout),
            reference_cache.reference_path(
                classifier.Evaluator(evaluator.graphdef, other_params), test, heldout)]
  assert len({path, *others}) == 1 + len(others)


def test_changed_metric_code_has_another_file(evaluator, images, monkeypatch, tmp_path):
  path = reference_cache.reference_path(evaluator, *images)
  changed = tmp_path / "feature_metrics.py"
  changed.write_text(pathlib.Path(feature_metrics.__file__).read_text() + "\n# k = 5\n")
  monkeypatch.setattr(feature_metrics, "__file__", str(changed))
  assert reference_cache.reference_path(evaluator, *images) != path


@pytest.mark.parametrize("library", [reference_cache.jax, reference_cache.np])
def test_another_jax_or_numpy_version_has_another_file(evaluator, images, monkeypatch, library):
  path = reference_cache.reference_path(evaluator, *images)
  monkeypatch.setattr(library, "__version__", library.__version__ + ".post1")
  assert reference_cache.reference_path(evaluator, *images) != path


@pytest.mark.parametrize("damage", ["truncated", "another_set"])
def test_a_damaged_file_is_computed_again_with_a_warning_and_rewritten(
    evaluator, images, damage, caplog):
  path = reference_cache.reference_path(evaluator, *images)
  expected = classifier.make_reference(evaluator, *images)
  reference_cache.cached_reference(evaluator, *images)
  if damage == "truncated":
    path.write_bytes(path.read_bytes()[:1000])
  else:  # A readable file of the arrays of fewer images.
    disk_cache.save_npz(path, {name: getattr(expected, name)[:10] for name in ARRAYS})
  with caplog.at_level(logging.WARNING, logger="jaxgan"):
    _assert_equal(reference_cache.cached_reference(evaluator, *images), expected)
  assert "unreadable cached real reference" in caplog.text
  rewritten = disk_cache.load_npz(path)
  assert rewritten is not None and len(rewritten["test_features"]) == len(images[0])


def test_a_cache_folder_that_cannot_be_written_warns_and_computes(evaluator, images, monkeypatch,
                                                                  tmp_path, caplog):
  (tmp_path / "a_file").write_text("")
  monkeypatch.setenv("JAXGAN_CACHE_DIR", str(tmp_path / "a_file"))
  with caplog.at_level(logging.WARNING, logger="jaxgan"):
    reference = reference_cache.cached_reference(evaluator, *images)
    _assert_equal(reference, classifier.make_reference(evaluator, *images))
    assert "cannot cache the real reference" in caplog.text
    assert classifier.real_baseline(reference, 30, kid_subsets=3)["fcd"] > 0
  assert "cannot cache the real baselines" in caplog.text
