"""Writes tests/reference/seed_golden.npz: three original PyTorch steps of the seed MLP GAN.

Run `python -m tests.reference.torch_seed --idx_dir=/path/to/mnist` (needs the `reference` extra).
The layout of the file is described in tests/reference/golden.py.
"""

import argparse

import numpy as np
import torch

from benchmarks import torch_reference
from jaxgan.data.idx import read_idx_split
from tests.reference import golden


def build_models():
  """The original networks with the golden initial weights loaded, in training mode."""
  g = torch_reference.MLPGenerator(golden.LATENT_DIM, golden.G_HIDDEN)
  d = torch_reference.MLPDiscriminator(golden.D_HIDDEN)
  init = golden.initial_weights()
  for prefix, module in (("g.", g), ("d.", d)):
    state = {name[len(prefix):]: torch.from_numpy(value)
             for name, value in init.items() if name.startswith(prefix)}
    missing, unexpected = module.load_state_dict(state, strict=False)
    assert not unexpected and all(m.endswith("num_batches_tracked") for m in missing), (
        missing, unexpected)
  return g, d


def snapshot(g, d) -> dict[str, np.ndarray]:
  """Every parameter and running statistic, named as in golden.torch_shapes()."""
  values = {}
  for prefix, module in (("g.", g), ("d.", d)):
    for name, value in module.state_dict().items():
      if not name.endswith("num_batches_tracked"):
        values[prefix + name] = value.detach().numpy().copy()
  return values


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--idx_dir", required=True, help="folder holding the four MNIST IDX .gz files")
  parser.add_argument("--output", default=str(golden.GOLDEN_PATH))
  args = parser.parse_args(argv)

  torch.manual_seed(golden.SEED)
  images_NxHxWx1, _ = read_idx_split(args.idx_dir, "train")
  order = np.random.RandomState(golden.SEED).permutation(len(images_NxHxWx1))
  count = golden.NUM_STEPS * golden.BATCH_SIZE
  picked = images_NxHxWx1[order[:count]].astype(np.float32) / np.float32(255.0)
  real_SxBx1xHxW = picked.reshape(golden.NUM_STEPS, golden.BATCH_SIZE, 1, 28, 28)
  z_SxBxZ = torch.randn(golden.NUM_STEPS, golden.BATCH_SIZE, golden.LATENT_DIM).numpy()

  g, d = build_models()
  init = snapshot(g, d)
  assert init.keys() == golden.torch_shapes().keys()
  g_opt, d_opt = torch_reference.make_optimizer(g), torch_reference.make_optimizer(d)
  record = {"real_SxBx1xHxW": real_SxBx1xHxW, "z_SxBxZ": z_SxBxZ}
  losses = {name: [] for name in golden.LOSS_NAMES}
  after = {}
  for step in range(1, golden.NUM_STEPS + 1):
    out = torch_reference.train_step(g, d, g_opt, d_opt, torch.from_numpy(real_SxBx1xHxW[step - 1]),
                                     torch.from_numpy(z_SxBxZ[step - 1]))
    for name in golden.LOSS_NAMES:
      losses[name].append(out[name].item())
    if step in golden.CHECK_STEPS:
      after[step] = snapshot(g, d)
      for name, value in after[step].items():
        record[f"step{step}/{name}"] = golden.encode(value - init[name])
  for name, values in losses.items():
    record[name] = np.asarray(values, np.float32)
  np.savez_compressed(args.output, **record)
  with np.load(args.output) as written:
    for step in golden.CHECK_STEPS:
      for name, value in golden.expected_values(written, step).items():
        np.testing.assert_allclose(value, after[step][name], rtol=1e-7, atol=1e-9)
  print(f"wrote {args.output}: " + ", ".join(f"{k}={v}" for k, v in losses.items()))


if __name__ == "__main__":
  main()
