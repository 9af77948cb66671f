"""The golden file's layout, shared by the PyTorch script that writes it and the JAX test that reads it.

The initial weights are not stored: both sides draw them from numpy's `RandomState`, whose stream is
frozen, in PyTorch's default distribution U(-1/sqrt(fan_in), 1/sqrt(fan_in)). The file stores the
inputs, the per-step losses and, after steps 1 and 3, every parameter and BatchNorm running statistic
as its change from the initial value: float32, split into its four byte planes (as HDF5's shuffle
filter does) so that zip compression keeps the file under 10 MB.
"""

import pathlib

import numpy as np

GOLDEN_PATH = pathlib.Path(__file__).with_name("seed_golden.npz")
SEED = 0
BATCH_SIZE = 64
NUM_STEPS = 3
CHECK_STEPS = (1, 3)
LATENT_DIM = 96
G_HIDDEN = (128, 256, 512, 1024)
D_HIDDEN = (512, 256, 128, 64, 32)
IMAGE_SIZE = 28 * 28
LOSS_NAMES = ("g_loss", "d_loss", "real_loss", "fake_loss")


def _linear_shapes(prefix: str, sizes) -> dict:
  return {f"{prefix}.{i}.{kind}": (o, i_dim) if kind == "weight" else (o,)
          for i, (i_dim, o) in enumerate(zip(sizes[:-1], sizes[1:])) for kind in ("weight", "bias")}


def torch_shapes() -> dict[str, tuple[int, ...]]:
  """PyTorch state_dict names and shapes of the seed MLP pair (prefix "g." or "d."), in a fixed order."""
  shapes = {}
  shapes.update(_linear_shapes("g.linears", (LATENT_DIM, *G_HIDDEN)))
  for i, n in enumerate(G_HIDDEN):
    for kind in ("weight", "bias", "running_mean", "running_var"):
      shapes[f"g.norms.{i}.{kind}"] = (n,)
  shapes["g.out.weight"], shapes["g.out.bias"] = (IMAGE_SIZE, G_HIDDEN[-1]), (IMAGE_SIZE,)
  shapes.update(_linear_shapes("d.linears", (IMAGE_SIZE, *D_HIDDEN)))
  shapes["d.out.weight"], shapes["d.out.bias"] = (1, D_HIDDEN[-1]), (1,)
  return shapes


def initial_weights(seed: int = SEED) -> dict[str, np.ndarray]:
  """float32 initial values in PyTorch's defaults: Linear U(-1/sqrt(fan_in), ..), BatchNorm 1/0/0/1."""
  rng = np.random.RandomState(seed)
  shapes = torch_shapes()
  weights = {}
  for name, shape in shapes.items():
    if ".norms." in name:
      fill = 1.0 if name.endswith(("weight", "running_var")) else 0.0
      weights[name] = np.full(shape, fill, np.float32)
    else:
      fan_in = shapes[name.rsplit(".", 1)[0] + ".weight"][1]
      bound = 1.0 / np.sqrt(fan_in)
      weights[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
  return weights


def encode(delta: np.ndarray) -> np.ndarray:
  """float32 array -> uint8 [4, size] byte planes (lossless; compresses better than raw float32)."""
  return np.ascontiguousarray(delta.astype("<f4").reshape(-1).view(np.uint8).reshape(-1, 4).T)


def decode(planes_4xN: np.ndarray, shape) -> np.ndarray:
  """Inverse of `encode`."""
  return np.ascontiguousarray(planes_4xN.T).view("<f4").reshape(shape).astype(np.float32)


def expected_values(golden_file, step: int) -> dict[str, np.ndarray]:
  """Every PyTorch parameter and running statistic after `step` steps, by state_dict name."""
  init = initial_weights()
  return {name: init[name] + decode(golden_file[f"step{step}/{name}"], shape)
          for name, shape in torch_shapes().items()}
