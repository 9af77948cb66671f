"""Writes tests/reference/inception_golden.npz (and two tiny .pth files) with pytorch-fid itself.

Run by hand from the repository root, in an environment with the `fid_reference` extra (torch,
torchvision, pytorch-fid; no jax needed):

  python -m tests.reference.torch_inception

pytorch-fid's own `InceptionV3` is built with its download replaced by the golden random weights
(`fid_inception_v3` loads them strictly, so the key set is checked by pytorch-fid). Its BatchNorm
statistics are calibrated by one train-mode pass with momentum 1, then it runs in eval mode on the
check images and the two FID sets. The layout is described in tests/reference/inception_golden.py.
"""

import argparse
import collections
import tempfile
from unittest import mock

import numpy as np
import pytorch_fid
import torch
import torchvision
from pytorch_fid import inception as pf_inception

from tests.reference import inception_golden as golden


def build_network():
  """(pytorch-fid's InceptionV3 wrapper, its inner Inception3 with fc), golden random weights."""
  captured = {}
  original_builder = pf_inception.fid_inception_v3
  shapes = {}

  def fake_download(url, *args, **kwargs):
    del args, kwargs
    assert url == pf_inception.FID_WEIGHTS_URL, url
    weights = golden.random_weights(shapes)
    state = collections.OrderedDict((k, torch.from_numpy(v)) for k, v in weights.items())
    for name in shapes:
      if name.endswith("num_batches_tracked"):
        state[name] = torch.tensor(0, dtype=torch.int64)
    return state

  def capturing_builder():
    net = original_builder()
    captured["inception"] = net
    return net

  # The state-dict names and shapes, in order, of the network pytorch-fid builds (not loaded).
  with mock.patch.object(pf_inception, "load_state_dict_from_url", lambda *a, **k: None), \
       mock.patch.object(torch.nn.Module, "load_state_dict", lambda *a, **k: None):
    probe = pf_inception.fid_inception_v3()
  shapes.update({k: tuple(v.shape) for k, v in probe.state_dict().items()})

  with mock.patch.object(pf_inception, "load_state_dict_from_url", fake_download), \
       mock.patch.object(pf_inception, "fid_inception_v3", capturing_builder):
    wrapper = pf_inception.InceptionV3([3], resize_input=False, normalize_input=True)
  return wrapper, captured["inception"], shapes


def calibrate(wrapper, images_uint8: np.ndarray) -> None:
  """One train-mode pass with momentum 1: running statistics = this batch's statistics."""
  for module in wrapper.modules():
    if isinstance(module, torch.nn.BatchNorm2d):
      module.momentum = 1.0
  wrapper.train()
  with torch.no_grad():
    wrapper(to_nchw(images_uint8))
  wrapper.eval()


def to_nchw(images_uint8: np.ndarray) -> torch.Tensor:
  return torch.from_numpy(golden.to_unit(images_uint8)).permute(0, 3, 1, 2).contiguous()


def run(wrapper, inception, images_uint8: np.ndarray, batch: int = 4):
  pools, logits = [], []
  with torch.no_grad():
    for start in range(0, len(images_uint8), batch):
      pool = wrapper(to_nchw(images_uint8[start:start + batch]))[0].flatten(1)
      pools.append(pool.numpy())
      logits.append(inception.fc(pool).numpy())
  return np.concatenate(pools), np.concatenate(logits)


def write_tiny_files() -> None:
  """The TINY_* files, written by torch.save in both formats, and a check of `write_pth`."""
  values = golden.tiny_state_dict()
  base = torch.from_numpy(values["plain.weight"].copy())
  state = collections.OrderedDict([
      ("plain.weight", base), ("transposed", base.t()), ("sliced", base[1:, 2:5]),
      ("bn.num_batches_tracked", torch.tensor(7, dtype=torch.int64)),
      ("half", torch.from_numpy(values["half"].copy())),
      ("double", torch.from_numpy(values["double"].copy())),
      ("empty", torch.zeros(0, 3))])
  assert not state["transposed"].is_contiguous() and state["sliced"].storage_offset() == 8
  torch.save(state, golden.TINY_ZIP_PATH)
  torch.save(state, golden.TINY_LEGACY_PATH, _use_new_zipfile_serialization=False)
  for path in (golden.TINY_ZIP_PATH, golden.TINY_LEGACY_PATH):
    loaded = torch.load(path, weights_only=True)
    for name, value in values.items():
      np.testing.assert_array_equal(loaded[name].numpy(), value)
  with tempfile.NamedTemporaryFile(suffix=".pth") as f:  # write_pth's archive, read by torch.
    golden.write_pth(f.name, values)
    loaded = torch.load(f.name, weights_only=True)
    assert list(loaded) == list(values)
    for name, value in values.items():
      assert loaded[name].dtype == torch.from_numpy(np.asarray(value)).dtype, name
      np.testing.assert_array_equal(loaded[name].numpy(), value)


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--output", default=str(golden.GOLDEN_PATH))
  args = parser.parse_args(argv)
  torch.set_num_threads(2)
  write_tiny_files()

  wrapper, inception, shapes = build_network()
  calibrate(wrapper, golden.make_images(**golden.CALIB))
  record = {"names": np.array(list(shapes)), "shapes": golden.encode_shapes(shapes)}
  state = inception.state_dict()
  for name in golden.bn_stat_names(shapes):
    record[f"stats/{name}"] = state[name].numpy().astype(np.float32)
  check = golden.make_images(**golden.CHECK)
  record["check_images"] = check
  record["check_pool"], record["check_logits"] = run(wrapper, inception, check)
  record["fid_pool_a"], _ = run(wrapper, inception, golden.make_images(**golden.FID_SETS[0]))
  record["fid_pool_b"], _ = run(wrapper, inception, golden.make_images(**golden.FID_SETS[1]))
  record["versions"] = np.array([torch.__version__, torchvision.__version__,
                                 getattr(pytorch_fid, "__version__", "?")])
  pool = record["check_pool"]
  spread = pool.std(axis=0).mean() / (np.abs(pool).mean() + 1e-12)
  print(f"pool features: mean |x| {np.abs(pool).mean():.4g}, relative spread across images "
        f"{spread:.3g} (near 0 would mean an uncalibrated, constant network)")
  np.savez_compressed(args.output, **record)
  print(f"wrote {args.output}")


if __name__ == "__main__":
  main()
