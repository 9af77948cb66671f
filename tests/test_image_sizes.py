"""Models at other image sizes: the DCGAN's stages follow from the side, the MLP takes any shape."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxgan import models
from jaxgan.config.presets import dcgan as dcgan_config
from jaxgan.config.presets import mlp_gan
from jaxgan.core import gan, step_fns
from jaxgan.errors import ConfigError
from jaxgan.models import dcgan


def _config(name: str, conditional: bool):
  config = (dcgan_config if name == "dcgan" else mlp_gan).get_config()
  config.model.clusters = 0
  config.model.conditional = conditional
  config.model.width, config.model.latent_dim = 8, 16
  config.model.g_hidden, config.model.d_hidden = (32,), (32,)
  return config


@pytest.mark.parametrize("side,stages,base", [(28, 2, 7), (32, 3, 4), (64, 4, 4), (16, 2, 4)])
def test_dcgan_stages_follow_from_the_side(side, stages, base):
  assert dcgan.upsampling_stages((side, side, 3)) == (stages, base)
  generator, discriminator = nnx.eval_shape(lambda: models.build(
      _config("dcgan", False).model, image_shape=(side, side, 3), num_classes=0,
      dtype=jnp.float32, key=jax.random.PRNGKey(0)))
  ups = [getattr(generator, f"up{i}").kernel.shape for i in range(1, stages + 1)]
  width = 8
  assert ups[0][2] == width << (stages - 1) and ups[-1][2:] == (width, 3)
  assert [k[3] for k in ups[:-1]] == [width << i for i in range(stages - 2, -1, -1)]
  assert getattr(discriminator, f"conv{stages}").kernel.shape[3] == width << (stages - 1)
  assert not hasattr(discriminator, f"conv{stages + 1}")


@pytest.mark.parametrize("shape", [(28, 32, 1), (27, 27, 1), (6, 6, 3)])
def test_dcgan_refuses_images_it_cannot_build_in_one_line(shape):
  with pytest.raises(ConfigError, match=f"model dcgan needs square images.*got {shape[0]}x{shape[1]}"):
    dcgan.upsampling_stages(shape)


@pytest.mark.parametrize("name,side,channels,conditional", [
    (name, side, channels, conditional) for name in ("dcgan", "mlp") for side in (32, 64)
    for channels in (1, 3) for conditional in (False, True)])
def test_models_at_32_and_64_pixels_have_the_shapes(name, side, channels, conditional):
  config = _config(name, conditional)
  shape, num_classes = (side, side, channels), 3 if conditional else 0

  def forward():
    generator, discriminator = models.build(config.model, image_shape=shape,
                                            num_classes=num_classes, dtype=jnp.float32,
                                            key=jax.random.PRNGKey(1))
    labels_B = jnp.arange(2) if conditional else None
    images = generator(jnp.zeros((2, config.model.latent_dim)), labels_B, train=True)
    return images, discriminator(images, labels_B)

  images, logits = jax.eval_shape(forward)
  assert images.shape == (2, *shape) and logits.shape == (2,)


@pytest.mark.parametrize("name,side,channels,conditional", [
    ("dcgan", 32, 3, True), ("dcgan", 64, 1, False), ("mlp", 64, 3, False)])
def test_models_at_32_and_64_pixels_train(name, side, channels, conditional):
  config = _config(name, conditional)
  shape = (side, side, channels)
  num_classes = 3 if conditional else 0
  state, spec = gan.init_state(config, shape, num_classes)
  batch, num = 4, 16
  # Bright squares in the centre on a dark background: easy to tell from the initial fakes.
  images = np.zeros((num, *shape), np.uint8)
  images[:, side // 4: 3 * side // 4, side // 4: 3 * side // 4] = 200
  labels = np.arange(num, dtype=np.int32) % 3
  step = step_fns.make_train_steps(spec, batch, num // batch)
  orders = jnp.stack([jnp.arange(num)] * 2)
  g_before = jax.tree.map(np.array, state.g_params)
  d_reals, d_fakes = [], []
  for _ in range(4):
    state, metrics = step(state, jnp.asarray(images), jnp.asarray(labels), orders, 1)
    d_reals.append(float(metrics["d_real"][0]))
    d_fakes.append(float(metrics["d_fake"][0]))
  assert all(np.isfinite(d_reals + d_fakes)) and int(state.step) == 4
  assert d_reals[-1] - d_fakes[-1] > d_reals[0] - d_fakes[0]  # D learns to tell them apart.
  changed = jax.tree.map(lambda a, b: not np.allclose(a, b), g_before, state.g_params)
  assert all(jax.tree.leaves(changed))  # Every G weight trained.
