"""The Inception golden file's layout, shared by the PyTorch script that writes it
(`tests/reference/torch_inception.py`) and the JAX test that reads it (`tests/test_inception.py`).

Neither the weights nor most images are stored: both sides draw them from numpy's `RandomState`,
whose stream is frozen. The weights come from one stream, tensor after tensor in state-dict order
(convolutions U(-sqrt(3/fan_in), sqrt(3/fan_in)), BatchNorm scale U(0.5, 1.5) and bias
U(-0.5, 0.5), fc U(-1/sqrt(2048), 1/sqrt(2048))). The images are blocky uint8 noise made with
integer operations only, so both sides get the same bytes. The file stores:

- `names`: pytorch-fid's state-dict names in order (the key table the converter must reproduce);
- `stats/<layer>.bn.running_mean|running_var`: BatchNorm running statistics after one train-mode
  pass of `CALIB` images with momentum 1 (without it the random network's features come out
  nearly constant, and any implementation would "match");
- `check_images`: `CHECK` images, and `check_pool` / `check_logits`, pytorch-fid's pool features
  and fc logits for them;
- `fid_pool_a` / `fid_pool_b`: pytorch-fid's pool features of the two `FID_SETS` image sets;
- `versions`: torch, torchvision and pytorch-fid versions that wrote the file.

Besides, `write_pth` writes a state dict as a torch zip archive with numpy alone (the reference
script checks that torch reads it), and `TINY_*` are two small files torch itself wrote (zip and
legacy format) whose contents `tiny_state_dict()` gives.
"""

import collections
import io
import pathlib
import pickle
import zipfile

import numpy as np

HERE = pathlib.Path(__file__).parent
GOLDEN_PATH = HERE / "inception_golden.npz"
TINY_ZIP_PATH = HERE / "inception_tiny_zip.pth"
TINY_LEGACY_PATH = HERE / "inception_tiny_legacy.pth"
SEED = 0
SIZE = 299
CALIB = dict(seed=1, num=8, block=13)             # BatchNorm calibration batch.
CHECK = dict(seed=2, num=3, block=23)             # Images whose features are compared one by one.
FID_SETS = (dict(seed=3, num=8, block=13), dict(seed=4, num=8, block=23))


def random_weights(shapes: dict[str, tuple[int, ...]], seed: int = SEED) -> dict[str, np.ndarray]:
  """float32 weights for a state dict of `shapes` (in state-dict order; counters left out)."""
  rng = np.random.RandomState(seed)
  weights = {}
  for name, shape in shapes.items():
    if name.endswith("num_batches_tracked"):
      continue
    if name.endswith(".conv.weight"):
      bound = np.sqrt(3.0 / np.prod(shape[1:]))
      value = rng.uniform(-bound, bound, shape)
    elif name.endswith(".bn.weight"):
      value = rng.uniform(0.5, 1.5, shape)
    elif name.endswith(".bn.bias"):
      value = rng.uniform(-0.5, 0.5, shape)
    elif name.endswith(".bn.running_mean"):
      value = np.zeros(shape)
    elif name.endswith(".bn.running_var"):
      value = np.ones(shape)
    elif name.startswith("fc."):
      value = rng.uniform(-1 / np.sqrt(2048), 1 / np.sqrt(2048), shape)
    else:
      raise ValueError(f"unexpected state-dict name {name}")
    weights[name] = value.astype(np.float32)
  return weights


def make_images(seed: int, num: int, block: int, size: int = SIZE) -> np.ndarray:
  """uint8 images_Nxsizexsizex3: random blocks of `block` pixels plus small pixel noise."""
  rng = np.random.RandomState(seed)
  cells = -(-size // block)
  coarse = rng.randint(0, 200, (num, cells, cells, 3))
  fine = np.repeat(np.repeat(coarse, block, axis=1), block, axis=2)[:, :size, :size]
  return (fine + rng.randint(0, 56, (num, size, size, 3))).astype(np.uint8)


def to_unit(images_uint8: np.ndarray) -> np.ndarray:
  """uint8 -> float32 in [0, 1], as both sides feed the network."""
  return images_uint8.astype(np.float32) / np.float32(255.0)


def bn_stat_names(names) -> list[str]:
  return [n for n in names if n.endswith((".bn.running_mean", ".bn.running_var"))]


def expected_state_dict(golden_file) -> dict[str, np.ndarray]:
  """The calibrated state dict pytorch-fid ran: random weights plus the stored running stats."""
  names = [str(n) for n in golden_file["names"]]
  weights = random_weights(_shapes_from_file(golden_file, names))
  for name in bn_stat_names(names):
    weights[name] = golden_file[f"stats/{name}"]
  return weights


def _shapes_from_file(golden_file, names) -> dict[str, tuple[int, ...]]:
  shapes = {}
  for name, shape in zip(names, golden_file["shapes"]):
    shapes[name] = tuple(int(s) for s in shape if s >= 0)
  return shapes


def encode_shapes(shapes: dict[str, tuple[int, ...]]) -> np.ndarray:
  """int32 [num_names, 4], -1 padded: the shape of each name (stored beside `names`)."""
  table = np.full((len(shapes), 4), -1, np.int32)
  for i, shape in enumerate(shapes.values()):
    table[i, :len(shape)] = shape
  return table


# ---------------------------------------------------------------------------------------------
# A torch.save zip archive written with numpy.

class _Global:
  """A name the pickle refers to (GLOBAL opcode) without importing it: torch need not be here."""

  def __init__(self, module: str, name: str):
    self.module, self.name = module, name

  def __call__(self, *args):  # pickle's save_reduce insists on a callable.
    raise TypeError("a stand-in, never called")


class _Storage:
  def __init__(self, key: str, array: np.ndarray):
    self.key, self.array = key, array


class _Tensor:
  def __init__(self, storage: _Storage, shape: tuple[int, ...]):
    self.storage, self.shape = storage, shape


_STORAGE_NAMES = {np.dtype(np.float32): "FloatStorage", np.dtype(np.float64): "DoubleStorage",
                  np.dtype(np.float16): "HalfStorage", np.dtype(np.int64): "LongStorage",
                  np.dtype(np.int32): "IntStorage", np.dtype(np.uint8): "ByteStorage"}


class _Pickler(pickle._Pickler):  # pylint: disable=protected-access  (the pure-Python pickler)
  dispatch = pickle._Pickler.dispatch.copy()  # pylint: disable=protected-access

  def persistent_id(self, obj):
    if isinstance(obj, _Storage):
      return ("storage", _Global("torch", _STORAGE_NAMES[obj.array.dtype]), obj.key, "cpu",
              obj.array.size)
    return None

  def _save_global_name(self, obj: _Global):
    self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
    self.memoize(obj)

  def _save_tensor(self, obj: _Tensor):
    stride, step = [], 1
    for n in reversed(obj.shape):
      stride.insert(0, step)
      step *= n
    args = (obj.storage, 0, tuple(obj.shape), tuple(stride), False, collections.OrderedDict())
    self.save_reduce(_Global("torch._utils", "_rebuild_tensor_v2"), args, obj=obj)

  dispatch[_Global] = _save_global_name
  dispatch[_Tensor] = _save_tensor


def write_pth(path, state_dict: dict[str, np.ndarray], archive: str = "archive") -> None:
  """Writes `state_dict` ({name: numpy array}) as torch.save does (zip format, protocol 2)."""
  entries, storages = collections.OrderedDict(), []
  for name, value in state_dict.items():
    array = np.ascontiguousarray(value)
    storage = _Storage(str(len(storages)), array)
    storages.append(storage)
    entries[name] = _Tensor(storage, array.shape)
  buffer = io.BytesIO()
  _Pickler(buffer, protocol=2).dump(entries)
  with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
    z.writestr(f"{archive}/data.pkl", buffer.getvalue())
    z.writestr(f"{archive}/byteorder", "little")
    for storage in storages:
      z.writestr(f"{archive}/data/{storage.key}", storage.array.astype(
          storage.array.dtype.newbyteorder("<")).tobytes())
    z.writestr(f"{archive}/version", "3\n")


def tiny_state_dict() -> dict[str, np.ndarray]:
  """What the TINY_* files hold: views with strides and offsets, shared storage, several dtypes."""
  base = np.arange(24, dtype=np.float32).reshape(4, 6) / 7
  return {
      "plain.weight": base,
      "transposed": base.T,                      # A non-contiguous view of base's storage.
      "sliced": base[1:, 2:5],                   # An offset into base's storage.
      "bn.num_batches_tracked": np.array(7, np.int64),
      "half": (np.arange(5, dtype=np.float16) - 2) / 3,
      "double": np.linspace(-1, 1, 6, dtype=np.float64).reshape(2, 3),
      "empty": np.zeros((0, 3), np.float32),
  }
