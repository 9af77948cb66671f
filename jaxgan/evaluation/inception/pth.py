"""Reading a PyTorch .pth state dict without torch.

Either the zip format of torch >= 1.6 (`*/data.pkl` plus one raw file per storage, `*/data/<key>`)
or the older single-stream format (pickled header, object, storage keys, then each storage's
bytes). A restricted unpickler admits only OrderedDict, the tensor rebuild functions and the
storage types, and rebuilds every tensor as a numpy array.
"""

import collections
import io
import os
import pickle
import struct
import zipfile

import numpy as np

from jaxgan.errors import DataError

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}
_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c
_LEGACY_PROTOCOL = 1001


class _StorageType:
  """What `torch.FloatStorage` and its kin unpickle to: the dtype of a storage's elements."""

  def __init__(self, name: str):
    self.name, self.dtype = name, np.dtype(_STORAGE_DTYPES[name]).newbyteorder("<")


class _Storage:
  """A flat array of one storage's elements, filled when its bytes are read."""

  def __init__(self, dtype: np.dtype, numel: int):
    self.dtype, self.numel = dtype, numel
    self.data: np.ndarray | None = None

  def fill(self, raw: bytes) -> None:
    if len(raw) != self.numel * self.dtype.itemsize:
      raise DataError(f"storage holds {len(raw)} bytes, expected {self.numel} x "
                      f"{self.dtype.itemsize}")
    self.data = np.frombuffer(raw, self.dtype)


class _Tensor:
  """A tensor to rebuild once the storages are read: (storage, offset, size, stride)."""

  def __init__(self, storage, offset: int, size, stride):
    self.storage, self.offset = storage, int(offset)
    self.size, self.stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)

  def to_numpy(self) -> np.ndarray:
    storage, offset, limit = self.storage, self.offset, self.storage.numel
    if storage.data is None:
      raise DataError("a tensor's storage is missing from the file")
    if any(s < 0 for s in self.size + self.stride) or len(self.size) != len(self.stride):
      raise DataError(f"bad tensor layout: size {self.size}, stride {self.stride}")
    if 0 in self.size:
      return np.zeros(self.size, storage.dtype.newbyteorder("="))
    last = offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
    if offset < 0 or last >= limit:
      raise DataError(f"tensor of size {self.size} runs past its storage of {limit} elements")
    flat = storage.data[offset:last + 1]
    item = flat.itemsize
    view = np.lib.stride_tricks.as_strided(flat, self.size, [s * item for s in self.stride],
                                           writeable=False)
    return np.array(view, dtype=storage.dtype.newbyteorder("="))


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
  del requires_grad, backward_hooks, metadata
  return _Tensor(storage, storage_offset, size, stride)


def _rebuild_tensor(storage, storage_offset, size, stride):
  return _Tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
  del requires_grad, backward_hooks
  return data


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
  """Unpickles a state dict: OrderedDicts, tensors and storages, nothing else (no code runs)."""

  def __init__(self, file, storage_loader):
    super().__init__(file)
    self._storage_loader = storage_loader

  def find_class(self, module, name):
    if (module, name) in _ALLOWED:
      return _ALLOWED[(module, name)]
    if module == "torch" and name in _STORAGE_DTYPES:
      return _StorageType(name)
    raise pickle.UnpicklingError(f"{module}.{name} is not part of a state dict")

  def persistent_load(self, pid):
    if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
      raise pickle.UnpicklingError(f"unknown persistent id {str(pid)[:40]}")
    return self._storage_loader(*pid[1:])


def _materialize(obj):
  if isinstance(obj, _Tensor):
    return obj.to_numpy()
  if isinstance(obj, dict):
    return collections.OrderedDict((k, _materialize(v)) for k, v in obj.items())
  if isinstance(obj, (list, tuple)):
    return type(obj)(_materialize(v) for v in obj)
  return obj


def _storage_dtype(storage_type) -> np.dtype:
  if not isinstance(storage_type, _StorageType):
    raise pickle.UnpicklingError(f"unsupported storage type {storage_type!r}")
  return storage_type.dtype


def _read_zip(archive: zipfile.ZipFile) -> object:
  pickles = [n for n in archive.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
  if len(pickles) != 1:
    raise DataError("a zip, but not a torch.save archive (no */data.pkl)")
  prefix = pickles[0][:-len("data.pkl")]
  if f"{prefix}byteorder" in archive.namelist():
    order = archive.read(f"{prefix}byteorder").decode().strip()
    if order != "little":
      raise DataError(f"storages are {order}-endian; only little-endian files are read")
  storages: dict[str, _Storage] = {}

  def load_storage(storage_type, key, location, numel):
    del location
    if key not in storages:
      storage = _Storage(_storage_dtype(storage_type), int(numel))
      try:
        storage.fill(archive.read(f"{prefix}data/{key}"))
      except KeyError as e:
        raise DataError(f"storage {key} is missing from the archive") from e
      storages[key] = storage
    return storages[key]

  with archive.open(pickles[0]) as f:
    return _Unpickler(io.BytesIO(f.read()), load_storage).load()


def _read_legacy(f) -> object:
  """The pre-1.6 format: magic, protocol, sys info, the object, storage keys, storage bytes."""
  header = _Unpickler(f, lambda *a: None)
  if header.load() != _LEGACY_MAGIC or _Unpickler(f, lambda *a: None).load() != _LEGACY_PROTOCOL:
    raise DataError("neither a zip archive nor a legacy torch.save file")
  sys_info = _Unpickler(f, lambda *a: None).load()
  if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
    raise DataError("a big-endian legacy file; only little-endian files are read")
  roots: dict[str, _Storage] = {}

  def load_storage(storage_type, root_key, location, numel, view_metadata=None):
    del location
    if root_key not in roots:
      roots[root_key] = _Storage(_storage_dtype(storage_type), int(numel))
    if view_metadata is not None:  # Written by torch before 1.0 only.
      raise DataError("a storage view (torch < 1.0 file); load and re-save it with a newer torch")
    return roots[root_key]

  obj = _Unpickler(f, load_storage).load()
  keys = _Unpickler(f, lambda *a: None).load()
  for key in keys:
    if key not in roots:
      raise DataError(f"storage {key} is listed but never used")
    storage = roots[key]
    (count,) = struct.unpack("<q", f.read(8))
    if count != storage.numel:
      raise DataError(f"storage {key} holds {count} elements, expected {storage.numel}")
    storage.fill(f.read(count * storage.dtype.itemsize))
  return obj


def read_pth(path: str | os.PathLike) -> dict[str, np.ndarray]:
  """A torch.save'd state dict as {name: numpy array}, without torch.

  Raises:
    DataError: the file is missing, truncated, or holds anything but a state dict of tensors.
  """
  path = os.fspath(path)
  try:
    if zipfile.is_zipfile(path):
      with zipfile.ZipFile(path) as archive:
        obj = _read_zip(archive)
    else:
      with open(path, "rb") as f:
        obj = _read_legacy(f)
    state = _materialize(obj)
  except DataError as e:
    raise DataError(f"{path}: not a readable PyTorch state dict: {e}") from e
  except (OSError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, struct.error, ValueError,
          TypeError, KeyError, IndexError, AttributeError) as e:
    raise DataError(f"{path}: not a readable PyTorch state dict: "
                    f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
  if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
    raise DataError(f"{path}: holds no state dict of tensors")
  return dict(state)
