"""Trains a dataset's evaluator classifier and writes its weights plus a JSON record (sha256, accuracy).

    python -m experiments.train_evaluator [--dataset=mnist] [--idx_dir=DIR] [--seed=0]
        [--output=jaxgan/weights]
    python -m experiments.train_evaluator --folder=DIR [--image_size=S] [--channels=C]

The dataset is any labelled one, of any image size and number of classes: read from its IDX files
with --idx_dir (for MNIST, $JAXGAN_MNIST_IDX_DIR by default), else from TFDS (prepared, or
downloaded), or an image folder with class subfolders (its test split: every 7th image; the weights
go to DIR/.jaxgan/, where training runs and `evaluate` find them). The classifier takes the images'
shape, so give --image_size and --channels as the GAN's runs do.

The run is a pure function of the seed: the init, the epoch orders and the dropout masks all derive
from it.
"""

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import flags

from jaxgan.cli import entry
from jaxgan.config import schema
from jaxgan.data import batches as data_lib
from jaxgan.data import idx
from jaxgan.errors import ConfigError
from jaxgan.evaluation import classifier, run_eval

_DATASET = flags.DEFINE_string("dataset", "mnist", "The labelled dataset (a TFDS name).")
_IDX_DIR = flags.DEFINE_string("idx_dir", "", "Folder of the dataset's four IDX .gz files (MNIST's "
                               "default: $JAXGAN_MNIST_IDX_DIR); empty: TFDS.")
_FOLDER = flags.DEFINE_string("folder", "", "An image folder with class subfolders, instead of "
                              "--dataset.")
_IMAGE_SIZE = flags.DEFINE_integer("image_size", 0, "Resize and centre-crop to this square size "
                                   "(0: as the images are).")
_CHANNELS = flags.DEFINE_integer("channels", 0, "1 (grey) or 3 (RGB); 0: as the images are.")
_SEED = flags.DEFINE_integer("seed", 0, "Random seed.")
_OUTPUT = flags.DEFINE_string("output", "", "Folder for the weights and JSON (default: the package's "
                              "weights, or DIR/.jaxgan/ for --folder).")
_EPOCHS = flags.DEFINE_integer("epochs", 8, "Training epochs.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 128, "Batch size.")
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 2e-3, "Peak Adam learning rate (cosine decay).")
_MAX_SHIFT = flags.DEFINE_integer("max_shift", 2, "Augmentation: random translation of up to this "
                                  "many pixels per axis.")


def random_shift(key: jax.Array, images_BxHxWxC: jax.Array, max_shift: int) -> jax.Array:
  """Translates each image by its own random offset in [-max_shift, max_shift]^2, zero-filled."""
  _, height, width, channels = images_BxHxWxC.shape
  pad = ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0))
  padded = jnp.pad(images_BxHxWxC, pad)
  offsets_Bx2 = jax.random.randint(key, (images_BxHxWxC.shape[0], 2), 0, 2 * max_shift + 1)
  crop = lambda image, offset: jax.lax.dynamic_slice(
      image, (offset[0], offset[1], 0), (height, width, channels))
  return jax.vmap(crop)(padded, offsets_Bx2)


def make_train_step(graphdef, tx: optax.GradientTransformation, batch_size: int,
                    steps_per_epoch: int, max_shift: int):
  """The jitted `step(params, opt_state, images, labels, perm, step, key)`: one Adam step on a batch
  gathered on the device from the resident training set, randomly shifted, with dropout."""

  def loss_fn(params, images_BxHxWxC, labels_B, dropout_key):
    _, logits = classifier.apply(graphdef, params, images_BxHxWxC, dropout_key)
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels_B).mean()

  def step(params, opt_state, images_NxHxWxC, labels_N, perm_N, step, key):
    images, labels = data_lib.gather_batch(images_NxHxWxC, labels_N, perm_N,
                                           step % steps_per_epoch, batch_size)
    shift_key, dropout_key = jax.random.split(jax.random.fold_in(key, step))
    images = random_shift(shift_key, images, max_shift)
    loss, grads = jax.value_and_grad(loss_fn)(params, images, labels, dropout_key)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  return jax.jit(step, donate_argnums=(0, 1))


def accuracy(evaluator: classifier.Evaluator, images_NxHxWxC, labels_N) -> float:
  """Top-1 accuracy of the evaluator."""
  _, logits = classifier.features_and_logits(evaluator, images_NxHxWxC)
  return float(np.mean(np.argmax(logits, axis=1) == labels_N))


def data_config_of(dataset: str, idx_dir: str, folder: str, image_size: int, channels: int):
  """The `config.data` of the images, as a training run of them sets it."""
  data_config = schema.default_config().data
  source = "folder" if folder else ("idx" if idx_dir else "tfds")
  data_config.update(dataset=dataset, source=source, idx_dir=idx_dir, folder=folder,
                     image_size=image_size, channels=channels)
  return data_config


def load_labelled(data_config) -> tuple[np.ndarray, ...]:
  """(train images, train labels, test images, test labels) of labelled images.

  Raises:
    ConfigError: the images have fewer than two classes.
  """
  data = run_eval.real_splits(data_config)
  num_classes = int(max(data[1].max(), data[3].max())) + 1
  if num_classes < 2:
    what = data_config.folder if data_config.source == "folder" else data_config.dataset
    raise ConfigError(f"{what} has a single class: an evaluator classifies labelled images (an "
                      "image folder labels them by class subfolders)")
  return data


def train(data: tuple[np.ndarray, ...], seed: int, epochs: int, batch_size: int,
          learning_rate: float, max_shift: int) -> tuple[classifier.Evaluator, float, float]:
  """Trains on (train images, train labels, test images, test labels); returns (evaluator, test
  accuracy, training seconds)."""
  train_images, train_labels, test_images, test_labels = data
  key = jax.random.PRNGKey(seed)
  init_key, data_key, step_key = jax.random.split(key, 3)
  evaluator = classifier.init_evaluator(init_key, train_images.shape[1:],
                                        int(max(train_labels.max(), test_labels.max())) + 1)
  steps_per_epoch = data_lib.steps_per_epoch(train_images.shape[0], batch_size)
  schedule = optax.cosine_decay_schedule(learning_rate, epochs * steps_per_epoch)
  tx = optax.adam(schedule)
  params, opt_state = evaluator.params, tx.init(evaluator.params)
  step_fn = make_train_step(evaluator.graphdef, tx, batch_size, steps_per_epoch, max_shift)
  images_NxHxWxC, labels_N = jnp.asarray(train_images), jnp.asarray(train_labels)
  start = time.time()
  for epoch in range(epochs):
    perm_N = data_lib.epoch_permutation(data_key, epoch, images_NxHxWxC.shape[0])
    for i in range(steps_per_epoch):
      step = epoch * steps_per_epoch + i
      params, opt_state, loss = step_fn(params, opt_state, images_NxHxWxC, labels_N, perm_N,
                                        jnp.int32(step), step_key)
    evaluator = dataclasses.replace(evaluator, params=params)
    print(f"epoch {epoch + 1}: loss {float(loss):.4f} test accuracy "
          f"{accuracy(evaluator, test_images, test_labels):.4f} ({time.time() - start:.0f} s)",
          flush=True)
  seconds = time.time() - start
  return evaluator, accuracy(evaluator, test_images, test_labels), seconds


def main():
  dataset, folder = _DATASET.value, _FOLDER.value
  idx_dir = _IDX_DIR.value or (idx.resolve_idx_dir("") if dataset == "mnist" else "")
  data_config = data_config_of(dataset, "" if folder else idx_dir, folder, _IMAGE_SIZE.value,
                               _CHANNELS.value)
  if _IMAGE_SIZE.value < 0 or _CHANNELS.value not in (0, 1, 3):
    raise ConfigError(f"--image_size={_IMAGE_SIZE.value} --channels={_CHANNELS.value}: expected a "
                      "size >= 0 (0: as the images are) and 0, 1 or 3 channels")
  directory, name = run_eval.evaluator_location(data_config)
  output = _OUTPUT.value or directory
  data = load_labelled(data_config)
  evaluator, test_accuracy, seconds = train(data, _SEED.value, _EPOCHS.value, _BATCH_SIZE.value,
                                            _LEARNING_RATE.value, _MAX_SHIFT.value)
  source = f"--folder={folder}" if folder else f"--dataset={dataset}"
  command = (f"python -m experiments.train_evaluator {source} --image_size={_IMAGE_SIZE.value} "
             f"--channels={_CHANNELS.value} --seed={_SEED.value} --epochs={_EPOCHS.value} "
             f"--batch_size={_BATCH_SIZE.value} --learning_rate={_LEARNING_RATE.value} "
             f"--max_shift={_MAX_SHIFT.value}")
  record = classifier.save_evaluator(evaluator, output, dict(
      test_accuracy=test_accuracy, seed=_SEED.value, epochs=_EPOCHS.value,
      train_seconds=round(seconds, 1), jax_version=jax.__version__, command=command), name)
  print(f"{folder or dataset}: test accuracy {test_accuracy:.4f} in {seconds:.0f} s; wrote "
        f"{output}/{record['file']} (sha256 {record['sha256'][:12]})")


if __name__ == "__main__":
  entry.run(main)
