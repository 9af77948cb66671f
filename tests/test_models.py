"""Model families: shapes and dtypes, the PyTorch-faithful BatchNorm, PyTorch's initialisation."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxgan import models
from jaxgan.config.presets import dcgan as dcgan_config
from jaxgan.config.presets import mlp_gan
from jaxgan.core import gan
from jaxgan.models import dcgan, layers

IMAGE_SHAPE = (28, 28, 1)
def _dcgan3_config():
  config = dcgan_config.get_config()
  config.model.stages = 3
  return config


CONFIGS = {"mlp": mlp_gan.get_config, "dcgan": dcgan_config.get_config, "dcgan3": _dcgan3_config}


@nnx.jit(static_argnames="train")
def _generate(generator, z_BxZ, labels_B, train: bool):
  """G's logits, compiled as one program (eagerly, each op compiles on its own)."""
  return generator(z_BxZ, labels_B, train=train)


@nnx.jit
def _discriminate(discriminator, images, labels_B=None):
  """D's logits, compiled as one program."""
  return discriminator(images, labels_B)


@pytest.mark.parametrize("name,num_classes,dtype", [
    (name, num_classes, dtype) for name in ("mlp", "dcgan", "dcgan3")
    for num_classes, dtype in ((0, jnp.float32), (10, jnp.float32), (0, jnp.bfloat16))])
def test_shapes_and_dtypes(name, num_classes, dtype):
  config = CONFIGS[name]()
  generator, discriminator = models.build(
      config.model, image_shape=IMAGE_SHAPE, num_classes=num_classes, dtype=dtype,
      key=jax.random.PRNGKey(0))
  batch = 4
  z_BxZ = jnp.ones((batch, config.model.latent_dim), jnp.float32)
  labels_B = jnp.arange(batch, dtype=jnp.int32) if num_classes else None
  for train in (True, False):
    logits = _generate(generator, z_BxZ, labels_B, train)
    assert logits.shape == (batch, *IMAGE_SHAPE) and logits.dtype == jnp.float32
  d_logits = _discriminate(discriminator, jax.nn.sigmoid(logits), labels_B)
  assert d_logits.shape == (batch,) and d_logits.dtype == jnp.float32
  # Weights and statistics stay float32 whatever the compute dtype.
  for module in (generator, discriminator):
    dtypes = {x.dtype for x in jax.tree.leaves(nnx.state(module))}
    assert dtypes == {jnp.dtype(jnp.float32)}, dtypes


def test_conditional_generator_depends_on_label():
  config = mlp_gan.get_config()
  generator, _ = models.build(config.model, image_shape=IMAGE_SHAPE, num_classes=10,
                              dtype=jnp.float32, key=jax.random.PRNGKey(0))
  z_BxZ = jnp.zeros((2, config.model.latent_dim), jnp.float32).at[:].set(0.3)
  out = generator(z_BxZ, jnp.array([1, 7], jnp.int32), train=False)
  assert not np.allclose(out[0], out[1])


def numpy_batchnorm(x, scale, bias, running_mean, running_var, momentum=0.1, eps=1e-5):
  """PyTorch's training-mode BatchNorm in float64: (output, new running mean, new running var)."""
  x = np.float64(x)
  axes = tuple(range(x.ndim - 1))
  n = math.prod(x.shape[:-1])
  mean, var = x.mean(axes), x.var(axes)
  out = (x - mean) / np.sqrt(var + eps) * scale + bias
  new_mean = (1 - momentum) * running_mean + momentum * mean
  new_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
  return out, new_mean, new_var


@pytest.mark.parametrize("shape", [(16, 5), (4, 3, 3, 6)], ids=["BatchNorm1d", "BatchNorm2d"])
def test_batchnorm_matches_pytorch_formula(shape):
  rng = np.random.default_rng(0)
  features = shape[-1]
  x = rng.normal(3.0, 2.0, shape).astype(np.float32)
  norm = layers.BatchNorm(features)
  scale = rng.uniform(0.5, 1.5, features).astype(np.float32)
  bias = rng.normal(size=features).astype(np.float32)
  running_mean = rng.normal(size=features).astype(np.float32)
  running_var = rng.uniform(0.5, 2.0, features).astype(np.float32)
  norm.scale.value, norm.bias.value = jnp.asarray(scale), jnp.asarray(bias)
  norm.mean.value, norm.var.value = jnp.asarray(running_mean), jnp.asarray(running_var)

  out, new_mean, new_var = numpy_batchnorm(x, scale, bias, running_mean, running_var)
  np.testing.assert_allclose(norm(jnp.asarray(x), train=True), out, rtol=1e-5, atol=1e-5)
  # Running variance takes the unbiased batch variance, as PyTorch does (Flax's own takes the biased).
  np.testing.assert_allclose(norm.mean.value, new_mean, rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(norm.var.value, new_var, rtol=1e-6)

  # Evaluation mode normalises with the running statistics and leaves them unchanged.
  eval_out = (np.float64(x) - new_mean) / np.sqrt(new_var + 1e-5) * scale + bias
  np.testing.assert_allclose(norm(jnp.asarray(x), train=False), eval_out, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(norm.var.value, new_var, rtol=1e-6)


def test_batchnorm_two_pass_variance_on_large_offsets():
  # E[x^2] - E[x]^2 loses everything here in float32; PyTorch's (and our) two-pass form does not.
  x = (1000.0 + np.random.default_rng(0).normal(0.0, 0.01, (64, 3))).astype(np.float32)
  norm = layers.BatchNorm(3, momentum=1.0)
  norm(jnp.asarray(x), train=True)
  np.testing.assert_allclose(norm.var.value, np.float64(x).var(0, ddof=1), rtol=1e-2)


def linear_leaves(module):
  """(path, kernel, bias or None) of every Linear/Conv layer of a module."""
  for path, m in nnx.iter_graph(module):
    if isinstance(m, (nnx.Linear, nnx.Conv, nnx.ConvTranspose)):
      yield path, m.kernel[...], None if m.bias is None else m.bias[...]


def test_torch_init_is_pytorch_uniform():
  config = mlp_gan.get_config()
  generator, discriminator = models.build(config.model, image_shape=IMAGE_SHAPE, num_classes=0,
                                          dtype=jnp.float32, key=jax.random.PRNGKey(0))
  seen = 0
  for module in (generator, discriminator):
    for path, kernel, bias in linear_leaves(module):
      bound = 1 / math.sqrt(kernel.shape[0])
      for x in (kernel, bias):
        assert float(jnp.max(jnp.abs(x))) <= bound, path
      # U(-b, b) has standard deviation b / sqrt(3); a normal or zero init would not.
      assert float(jnp.std(kernel)) == pytest.approx(bound / math.sqrt(3), rel=0.1), path
      if bias.size >= 32:
        assert float(jnp.max(jnp.abs(bias))) > 0.5 * bound, path
      seen += 1
  assert seen == 5 + 6


def test_normal_init_is_dcgan_practice():
  config = dcgan_config.get_config()
  generator, discriminator = models.build(config.model, image_shape=IMAGE_SHAPE, num_classes=0,
                                          dtype=jnp.float32, key=jax.random.PRNGKey(0))
  biases = 0
  for module in (generator, discriminator):
    for path, kernel, bias in linear_leaves(module):
      if kernel.size >= 1000:
        assert float(jnp.std(kernel)) == pytest.approx(0.02, rel=0.1), path
      if bias is not None:  # Layers that feed a BatchNorm have none.
        assert not jnp.any(bias), path
        biases += 1
  assert biases == 4  # G output, both D convs, D output.


def test_unknown_init_raises():
  with pytest.raises(ValueError, match="unknown init 'xavier'"):
    layers.dense_inits("xavier", 8)


def _assert_same_layer(fast_fn, xla_fn, x, kernel, dtype, tol):
  """fast_fn and xla_fn agree in values and in both gradients, computed in `dtype`."""
  x, kernel = x.astype(dtype), kernel.astype(dtype)
  y = jax.jit(fast_fn)(x, kernel)  # Compiled, as in the step: eager ops compile one by one.
  assert y.dtype == dtype
  np.testing.assert_allclose(y.astype(jnp.float32), jax.jit(xla_fn)(x, kernel).astype(jnp.float32),
                             rtol=tol, atol=tol)
  cotangent = jax.random.normal(jax.random.PRNGKey(2), y.shape, dtype)
  grads = [jax.jit(jax.grad(lambda x, k: jnp.vdot(fn(x, k), cotangent).astype(jnp.float32),
                            argnums=(0, 1)))(x, kernel) for fn in (fast_fn, xla_fn)]
  for got, want in zip(*grads):
    assert got.dtype == dtype
    np.testing.assert_allclose(got.astype(jnp.float32), want.astype(jnp.float32),
                               rtol=10 * tol, atol=10 * tol)


DTYPE_TOLERANCES = [(jnp.float32, 1e-5), (jnp.bfloat16, 5e-2)]


@pytest.mark.parametrize("dtype,tol", DTYPE_TOLERANCES, ids=["float32", "bfloat16"])
@pytest.mark.parametrize("height,width,channels,out", [(7, 7, 24, 16), (14, 5, 8, 1), (1, 3, 3, 2)])
def test_subpixel_conv_transpose_is_flax_conv_transpose(height, width, channels, out, dtype, tol):
  conv = nnx.ConvTranspose(channels, out, (4, 4), strides=(2, 2), padding="SAME", use_bias=False,
                           rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.PRNGKey(1), (3, height, width, channels))
  assert layers.subpixel_conv_transpose(x, conv.kernel[...]).shape == (3, 2 * height, 2 * width, out)

  def xla_conv_fn(x, kernel):  # What nnx.ConvTranspose computes.
    return jax.lax.conv_transpose(x, kernel, (2, 2), "SAME",
                                  dimension_numbers=("NHWC", "HWIO", "NHWC"))

  np.testing.assert_allclose(xla_conv_fn(x, conv.kernel[...]), conv(x), rtol=1e-6, atol=1e-6)
  _assert_same_layer(layers.subpixel_conv_transpose, xla_conv_fn, x, conv.kernel[...], dtype, tol)


@pytest.mark.parametrize("dtype,tol", DTYPE_TOLERANCES, ids=["float32", "bfloat16"])
@pytest.mark.parametrize("height,width,channels,out", [(28, 28, 1, 8), (14, 6, 12, 10), (2, 4, 3, 5)])
def test_strided_conv_is_flax_conv(height, width, channels, out, dtype, tol):
  conv = nnx.Conv(channels, out, (4, 4), strides=(2, 2), padding="SAME", use_bias=False,
                  rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.PRNGKey(1), (3, height, width, channels))
  assert layers.strided_conv(x, conv.kernel[...]).shape == (3, height // 2, width // 2, out)

  def xla_conv_fn(x, kernel):  # What nnx.Conv computes.
    return jax.lax.conv_general_dilated(x, kernel, (2, 2), "SAME",
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))

  np.testing.assert_allclose(xla_conv_fn(x, conv.kernel[...]), conv(x), rtol=1e-6, atol=1e-6)
  _assert_same_layer(layers.strided_conv, xla_conv_fn, x, conv.kernel[...], dtype, tol)


def test_dcgan_computes_its_own_layers():
  """The DCGAN's fast conv forms compute what its nnx layers would, biases included."""
  config = dcgan_config.get_config()
  generator, discriminator = models.build(config.model, image_shape=IMAGE_SHAPE, num_classes=0,
                                          dtype=jnp.float32, key=jax.random.PRNGKey(0))
  z_BxZ = jax.random.normal(jax.random.PRNGKey(1), (4, config.model.latent_dim))
  g = generator
  h = jax.nn.relu(g.norm0(g.fc(z_BxZ), train=False)).reshape(4, 7, 7, g.base_channels)
  want = g.up2(jax.nn.relu(g.norm1(g.up1(h), train=False)))
  np.testing.assert_allclose(g(z_BxZ, train=False), want, rtol=1e-4, atol=1e-5)

  d = discriminator
  images = jnp.tanh(want)
  h = jax.nn.leaky_relu(d.conv2(jax.nn.leaky_relu(d.conv1(images), 0.2)), 0.2)
  np.testing.assert_allclose(d(images), d.out(h.reshape(4, -1))[:, 0], rtol=1e-4, atol=1e-5)


def test_dcgan_step_has_no_base_dilated_convolution():
  """No convolution in the compiled DCGAN step (forward and both gradients) dilates its input: XLA:CPU
  runs those on its slow generic kernel."""
  if jax.default_backend() != "cpu":  # Asked here, not at import: importing starts no backend.
    pytest.skip("checks XLA:CPU's compiled step")
  config = dcgan_config.get_config()
  state, spec = gan.init_state(config, IMAGE_SHAPE)
  real = jnp.zeros((8, *IMAGE_SHAPE))
  z_BxZ = jnp.zeros((8, config.model.latent_dim))
  hlo = jax.jit(lambda s, r, z: gan.gan_update(spec, s, r, None, z)).lower(
      state, real, z_BxZ).compile().as_text()
  convolutions = [line for line in hlo.splitlines() if " convolution(" in line]
  assert len(convolutions) >= 10
  assert not [line for line in convolutions if "lhs_dilate" in line]


def test_a_third_dcgan_stage_adds_a_conv_to_each_network():
  parameters = {}
  for name in ("dcgan", "dcgan3"):
    config = CONFIGS[name]()
    generator, discriminator = models.build(config.model, image_shape=IMAGE_SHAPE, num_classes=0,
                                            dtype=jnp.float32, key=jax.random.PRNGKey(0))
    parameters[name] = (nnx.state(generator, nnx.Param), nnx.state(discriminator, nnx.Param))
  width = dcgan_config.get_config().model.width
  g3, d3 = parameters["dcgan3"]
  assert g3["conv0"]["kernel"].shape == (3, 3, 4 * width, 2 * width)
  assert d3["conv3"]["kernel"].shape == (3, 3, 2 * width, 4 * width)
  assert "conv0" not in parameters["dcgan"][0] and "conv3" not in parameters["dcgan"][1]


def test_minibatch_std_is_each_groups_mean_feature_std():
  scale_Bx1x1x1 = jnp.arange(1.0, 7.0).reshape(6, 1, 1, 1)  # Groups of unequal spread.
  h_BxHxWxC = jax.random.normal(jax.random.PRNGKey(0), (6, 2, 3, 4)) * scale_Bx1x1x1
  out = np.asarray(dcgan.minibatch_std(h_BxHxWxC, 3))
  np.testing.assert_array_equal(out[..., :4], h_BxHxWxC)
  h = np.float64(h_BxHxWxC)
  for b in range(6):
    group = h[b // 3 * 3:b // 3 * 3 + 3]
    want = np.mean(np.sqrt(np.var(group, axis=0) + 1e-8))
    np.testing.assert_allclose(out[b, :, :, 4], np.full((2, 3), want), rtol=1e-5)
  assert out[0, 0, 0, 4] != out[3, 0, 0, 4]
  with pytest.raises(ValueError, match="a batch of 6 does not split into groups of 4"):
    dcgan.minibatch_std(h_BxHxWxC, 4)


def test_minibatch_std_makes_d_see_the_other_images_of_a_group_only():
  """With groups of 2, changing image 1 changes D's logit of image 0 (same group), not of image 2;
  without it, D sees each image alone."""
  config = dcgan_config.get_config()
  images = jax.random.uniform(jax.random.PRNGKey(1), (4, *IMAGE_SHAPE))
  changed = images.at[1].set(1.0 - images[1])
  for group in (0, 2):
    config.model.d_minibatch_std = group
    _, discriminator = models.build(config.model, image_shape=IMAGE_SHAPE, num_classes=0,
                                    dtype=jnp.float32, key=jax.random.PRNGKey(0))
    before, after = np.asarray(discriminator(images)), np.asarray(discriminator(changed))
    assert (before[0] != after[0]) == bool(group)
    np.testing.assert_array_equal(before[2:], after[2:])


@pytest.mark.parametrize("name", ["mlp", "dcgan"])
def test_bfloat16_computes_in_bfloat16(name):
  """Same weights, two compute dtypes: the bfloat16 layers output bfloat16, and the networks' outputs
  differ by bfloat16 rounding (about 1e-2 relative), not by float32 rounding."""
  outputs = {}
  for dtype in (jnp.float32, jnp.bfloat16):
    config = CONFIGS[name]()
    generator, discriminator = models.build(config.model, image_shape=IMAGE_SHAPE, num_classes=0,
                                            dtype=dtype, key=jax.random.PRNGKey(0))
    z_BxZ = jax.random.normal(jax.random.PRNGKey(1), (8, config.model.latent_dim))
    first = generator.fc if name == "dcgan" else generator.linears[0]
    assert first(z_BxZ).dtype == dtype
    logits = _generate(generator, z_BxZ, None, True)
    outputs[dtype] = (logits, _discriminate(discriminator, jax.nn.sigmoid(logits)))
  for f32, bf16 in zip(outputs[jnp.float32], outputs[jnp.bfloat16]):
    relative = float(jnp.max(jnp.abs(f32 - bf16)) / jnp.max(jnp.abs(f32)))
    assert 1e-4 < relative < 0.2, relative
