"""Device mesh and shardings: the batch split along the mesh's `data` axis, everything else replicated."""

import jax
import numpy as np
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"


def make_mesh(num_devices: int | None = None) -> jax.sharding.Mesh:
  """A 1-D mesh over the first `num_devices` devices (all by default), axis `data`.

  The axis type is Auto, so `jax.lax.with_sharding_constraint` works inside jitted code.
  """
  devices = jax.devices()
  n = num_devices or len(devices)
  return jax.make_mesh((n,), (DATA_AXIS,), axis_types=(AxisType.Auto,), devices=devices[:n])


def replicated(mesh: jax.sharding.Mesh) -> NamedSharding:
  """A full copy on every device of `mesh`."""
  return NamedSharding(mesh, P())


def batch_sharding(mesh: jax.sharding.Mesh) -> NamedSharding:
  """The leading (batch) dimension split along the `data` axis."""
  return NamedSharding(mesh, P(DATA_AXIS))


def put_replicated(mesh: jax.sharding.Mesh, array: np.ndarray) -> jax.Array:
  """Places a host array, identical in every process, on all devices of `mesh`."""
  return jax.make_array_from_process_local_data(replicated(mesh), array)
