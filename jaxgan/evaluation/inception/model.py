"""The 2015 Inception network of FID, as pytorch-fid's `FIDInceptionV3`, in Flax NNX and NHWC.

Same layers as torchvision's InceptionV3 (no auxiliary head, 1008 classes), with pytorch-fid's
changes that reproduce TensorFlow's 2015 graph: the average pools in the A, C and first E blocks
leave the zero padding out of the mean (`count_include_pad=False`), and the last E block pools by
max. Every convolution has no bias and is followed by BatchNorm (eps 1e-3, running statistics
only) and ReLU.

Module and attribute names are pytorch-fid's state-dict names, lower-cased (`Mixed_5b.branch1x1` ->
`mixed_5b.branch1x1`), so `convert` maps one to the other by name. Used functionally: `split` once,
then `apply(graphdef, params, batch_stats, x)` inside a plain `jax.jit`.
"""

import jax
import jax.numpy as jnp
from flax import nnx

IMAGE_SIZE = 299
POOL_DIM = 2048
NUM_LOGITS = 1008
BN_EPSILON = 1e-3


class ConvBN(nnx.Module):
  """Conv (no bias) -> BatchNorm with running statistics -> ReLU: torchvision's BasicConv2d."""

  def __init__(self, in_ch: int, out_ch: int, kernel: int | tuple[int, int], *, stride: int = 1,
               padding: int | tuple[int, int] = 0, rngs: nnx.Rngs):
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    self.conv = nnx.Conv(in_ch, out_ch, (kh, kw), strides=stride, padding=((ph, ph), (pw, pw)),
                         use_bias=False, rngs=rngs)
    self.bn = nnx.BatchNorm(out_ch, use_running_average=True, epsilon=BN_EPSILON, rngs=rngs)

  def __call__(self, x_NxHxWxC: jax.Array) -> jax.Array:
    return jax.nn.relu(self.bn(self.conv(x_NxHxWxC)))


def avg_pool_3x3_same(x_NxHxWxC: jax.Array) -> jax.Array:
  """3x3, stride 1, padding 1 average pool over the pixels inside the image only (TF's SAME avg)."""
  window, strides, pad = (1, 3, 3, 1), (1, 1, 1, 1), ((0, 0), (1, 1), (1, 1), (0, 0))
  total = jax.lax.reduce_window(x_NxHxWxC, 0.0, jax.lax.add, window, strides, pad)
  ones_1xHxWx1 = jnp.ones((1, *x_NxHxWxC.shape[1:3], 1), x_NxHxWxC.dtype)
  count = jax.lax.reduce_window(ones_1xHxWx1, 0.0, jax.lax.add, window, strides, pad)
  return total / count


def max_pool_3x3(x_NxHxWxC: jax.Array, *, stride: int, padding: int) -> jax.Array:
  """3x3 max pool; the padding (if any) never wins, as in PyTorch's."""
  pad = ((0, 0), (padding, padding), (padding, padding), (0, 0))
  return jax.lax.reduce_window(x_NxHxWxC, -jnp.inf, jax.lax.max, (1, 3, 3, 1),
                               (1, stride, stride, 1), pad)


class InceptionA(nnx.Module):
  """35x35 block: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avg pool-1x1 (FIDInceptionA)."""

  def __init__(self, in_ch: int, pool_ch: int, *, rngs: nnx.Rngs):
    self.branch1x1 = ConvBN(in_ch, 64, 1, rngs=rngs)
    self.branch5x5_1 = ConvBN(in_ch, 48, 1, rngs=rngs)
    self.branch5x5_2 = ConvBN(48, 64, 5, padding=2, rngs=rngs)
    self.branch3x3dbl_1 = ConvBN(in_ch, 64, 1, rngs=rngs)
    self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1, rngs=rngs)
    self.branch3x3dbl_3 = ConvBN(96, 96, 3, padding=1, rngs=rngs)
    self.branch_pool = ConvBN(in_ch, pool_ch, 1, rngs=rngs)

  def __call__(self, x):
    b5 = self.branch5x5_2(self.branch5x5_1(x))
    b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
    bp = self.branch_pool(avg_pool_3x3_same(x))
    return jnp.concatenate([self.branch1x1(x), b5, b3, bp], axis=-1)


class InceptionB(nnx.Module):
  """35x35 -> 17x17 reduction: 3x3/2 | 1x1-3x3-3x3/2 | max pool/2 (torchvision's InceptionB)."""

  def __init__(self, in_ch: int, *, rngs: nnx.Rngs):
    self.branch3x3 = ConvBN(in_ch, 384, 3, stride=2, rngs=rngs)
    self.branch3x3dbl_1 = ConvBN(in_ch, 64, 1, rngs=rngs)
    self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1, rngs=rngs)
    self.branch3x3dbl_3 = ConvBN(96, 96, 3, stride=2, rngs=rngs)

  def __call__(self, x):
    b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
    return jnp.concatenate([self.branch3x3(x), b3, max_pool_3x3(x, stride=2, padding=0)], axis=-1)


class InceptionC(nnx.Module):
  """17x17 block with factorised 7x7 convolutions and an avg pool branch (FIDInceptionC)."""

  def __init__(self, in_ch: int, c7: int, *, rngs: nnx.Rngs):
    self.branch1x1 = ConvBN(in_ch, 192, 1, rngs=rngs)
    self.branch7x7_1 = ConvBN(in_ch, c7, 1, rngs=rngs)
    self.branch7x7_2 = ConvBN(c7, c7, (1, 7), padding=(0, 3), rngs=rngs)
    self.branch7x7_3 = ConvBN(c7, 192, (7, 1), padding=(3, 0), rngs=rngs)
    self.branch7x7dbl_1 = ConvBN(in_ch, c7, 1, rngs=rngs)
    self.branch7x7dbl_2 = ConvBN(c7, c7, (7, 1), padding=(3, 0), rngs=rngs)
    self.branch7x7dbl_3 = ConvBN(c7, c7, (1, 7), padding=(0, 3), rngs=rngs)
    self.branch7x7dbl_4 = ConvBN(c7, c7, (7, 1), padding=(3, 0), rngs=rngs)
    self.branch7x7dbl_5 = ConvBN(c7, 192, (1, 7), padding=(0, 3), rngs=rngs)
    self.branch_pool = ConvBN(in_ch, 192, 1, rngs=rngs)

  def __call__(self, x):
    b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
    d7 = self.branch7x7dbl_1(x)
    for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                  self.branch7x7dbl_5):
      d7 = layer(d7)
    bp = self.branch_pool(avg_pool_3x3_same(x))
    return jnp.concatenate([self.branch1x1(x), b7, d7, bp], axis=-1)


class InceptionD(nnx.Module):
  """17x17 -> 8x8 reduction: 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | max pool/2 (torchvision's)."""

  def __init__(self, in_ch: int, *, rngs: nnx.Rngs):
    self.branch3x3_1 = ConvBN(in_ch, 192, 1, rngs=rngs)
    self.branch3x3_2 = ConvBN(192, 320, 3, stride=2, rngs=rngs)
    self.branch7x7x3_1 = ConvBN(in_ch, 192, 1, rngs=rngs)
    self.branch7x7x3_2 = ConvBN(192, 192, (1, 7), padding=(0, 3), rngs=rngs)
    self.branch7x7x3_3 = ConvBN(192, 192, (7, 1), padding=(3, 0), rngs=rngs)
    self.branch7x7x3_4 = ConvBN(192, 192, 3, stride=2, rngs=rngs)

  def __call__(self, x):
    b3 = self.branch3x3_2(self.branch3x3_1(x))
    b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
    return jnp.concatenate([b3, b7, max_pool_3x3(x, stride=2, padding=0)], axis=-1)


class InceptionE(nnx.Module):
  """8x8 block with split 1x3/3x1 outputs; `pool` is "avg" (FIDInceptionE_1) or "max" (_2)."""

  def __init__(self, in_ch: int, *, pool: str, rngs: nnx.Rngs):
    if pool not in ("avg", "max"):
      raise ValueError(f"pool must be 'avg' or 'max', got {pool!r}")
    self.pool = pool
    self.branch1x1 = ConvBN(in_ch, 320, 1, rngs=rngs)
    self.branch3x3_1 = ConvBN(in_ch, 384, 1, rngs=rngs)
    self.branch3x3_2a = ConvBN(384, 384, (1, 3), padding=(0, 1), rngs=rngs)
    self.branch3x3_2b = ConvBN(384, 384, (3, 1), padding=(1, 0), rngs=rngs)
    self.branch3x3dbl_1 = ConvBN(in_ch, 448, 1, rngs=rngs)
    self.branch3x3dbl_2 = ConvBN(448, 384, 3, padding=1, rngs=rngs)
    self.branch3x3dbl_3a = ConvBN(384, 384, (1, 3), padding=(0, 1), rngs=rngs)
    self.branch3x3dbl_3b = ConvBN(384, 384, (3, 1), padding=(1, 0), rngs=rngs)
    self.branch_pool = ConvBN(in_ch, 192, 1, rngs=rngs)

  def __call__(self, x):
    s3 = self.branch3x3_1(x)
    d3 = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
    pooled = (avg_pool_3x3_same(x) if self.pool == "avg" else
              max_pool_3x3(x, stride=1, padding=1))
    return jnp.concatenate([self.branch1x1(x), self.branch3x3_2a(s3), self.branch3x3_2b(s3),
                            self.branch3x3dbl_3a(d3), self.branch3x3dbl_3b(d3),
                            self.branch_pool(pooled)], axis=-1)


class InceptionV3(nnx.Module):
  """img_Nx299x299x3 in [0, 1] -> (pool_Nx2048, logits_Nx1008): pytorch-fid's FIDInceptionV3.

  The input is mapped to [-1, 1] (2x - 1) as pytorch-fid does; resizing to 299 is the caller's
  (`features.preprocess`). `pool` is the final average pool (FID's features); `logits` the fc layer
  (with its bias) over the 1008 classes of the 2015 graph.
  """

  def __init__(self, *, rngs: nnx.Rngs):
    self.conv2d_1a_3x3 = ConvBN(3, 32, 3, stride=2, rngs=rngs)
    self.conv2d_2a_3x3 = ConvBN(32, 32, 3, rngs=rngs)
    self.conv2d_2b_3x3 = ConvBN(32, 64, 3, padding=1, rngs=rngs)
    self.conv2d_3b_1x1 = ConvBN(64, 80, 1, rngs=rngs)
    self.conv2d_4a_3x3 = ConvBN(80, 192, 3, rngs=rngs)
    self.mixed_5b = InceptionA(192, 32, rngs=rngs)
    self.mixed_5c = InceptionA(256, 64, rngs=rngs)
    self.mixed_5d = InceptionA(288, 64, rngs=rngs)
    self.mixed_6a = InceptionB(288, rngs=rngs)
    self.mixed_6b = InceptionC(768, 128, rngs=rngs)
    self.mixed_6c = InceptionC(768, 160, rngs=rngs)
    self.mixed_6d = InceptionC(768, 160, rngs=rngs)
    self.mixed_6e = InceptionC(768, 192, rngs=rngs)
    self.mixed_7a = InceptionD(768, rngs=rngs)
    self.mixed_7b = InceptionE(1280, pool="avg", rngs=rngs)
    self.mixed_7c = InceptionE(2048, pool="max", rngs=rngs)
    self.fc = nnx.Linear(POOL_DIM, NUM_LOGITS, rngs=rngs)

  def __call__(self, img_NxHxWx3: jax.Array) -> tuple[jax.Array, jax.Array]:
    x = 2.0 * img_NxHxWx3.astype(jnp.float32) - 1.0
    x = self.conv2d_2b_3x3(self.conv2d_2a_3x3(self.conv2d_1a_3x3(x)))   # 147x147x64
    x = max_pool_3x3(x, stride=2, padding=0)                            # 73x73x64
    x = self.conv2d_4a_3x3(self.conv2d_3b_1x1(x))                       # 71x71x192
    x = max_pool_3x3(x, stride=2, padding=0)                            # 35x35x192
    for block in (self.mixed_5b, self.mixed_5c, self.mixed_5d, self.mixed_6a,  # 17x17x768
                  self.mixed_6b, self.mixed_6c, self.mixed_6d, self.mixed_6e,
                  self.mixed_7a, self.mixed_7b, self.mixed_7c):              # 8x8x2048
      x = block(x)
    pool_Nx2048 = jnp.mean(x, axis=(1, 2))
    return pool_Nx2048, self.fc(pool_Nx2048)


def abstract_split() -> tuple[nnx.GraphDef, nnx.State, nnx.State]:
  """(graphdef, params, batch_stats) of the network, the states as shapes only (no arrays made)."""
  abstract = nnx.eval_shape(lambda: InceptionV3(rngs=nnx.Rngs(0)))
  return nnx.split(abstract, nnx.Param, nnx.BatchStat)


def apply(graphdef: nnx.GraphDef, params: nnx.State, batch_stats: nnx.State,
          img_NxHxWx3: jax.Array) -> tuple[jax.Array, jax.Array]:
  """The network as a pure function of its weights (jit it with `graphdef` static)."""
  return nnx.merge(graphdef, params, batch_stats)(img_NxHxWx3)
