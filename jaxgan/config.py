"""The default run config: every field a run accepts, set to the seed (the tutorial's MLP GAN, faithfully).

`config_validation` derives the set of fields and their types from this config, so a field is added
here, once; the configs in experiments/configs/ start from it and change values only.
"""

import os

import ml_collections


def default_config() -> ml_collections.ConfigDict:
  """The original's settings: batch 64, Adam(3e-4, betas=(0.4, 0.8), weight_decay=1e-4), BCE."""
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.batch_size = 64
  config.num_epochs = 30
  config.num_steps = 0  # > 0 overrides num_epochs.
  config.log_every_steps = 50
  config.checkpoint_every_steps = 5000
  config.keep_checkpoints = 3
  # MNIST sample quality (jaxgan.evaluation): every eval_every_steps steps (0: never during training)
  # on eval_num samples, keeping the best checkpoint by FCD; eval_final_num samples at the end (0: none).
  config.eval_every_steps = 0
  config.eval_num = 2000
  config.eval_final_num = 10000
  config.ema_decay = 0.0  # > 0 keeps an EMA of the generator, used for samples and evaluation.
  # BatchNorm statistics that grids, generate and evaluation sample with (jaxgan.sampling):
  # "standing" (recomputed for the sampling weights; measured best), "running" (kept in training)
  # or "batch".
  config.sampling = "standing"
  config.dtype = "float32"
  # Train steps fused into one call (one lax.scan); 0 picks by backend (gan.default_steps_per_call).
  config.steps_per_call = 0
  config.profile_steps = 0  # > 0: a jax.profiler trace of this many steps in WORKDIR/profile/.
  config.d_steps = 1  # D steps per G step: G is updated at steps divisible by it.
  config.max_nonfinite_steps = 10

  config.model = ml_collections.ConfigDict()
  config.model.name = "mlp"
  config.model.latent_dim = 96
  config.model.g_hidden = (128, 256, 512, 1024)
  config.model.d_hidden = (512, 256, 128, 64, 32)
  config.model.width = 0  # Unused by the MLP.
  config.model.stages = 2  # DCGAN: 3 adds a stride-1 conv stage at the base size (7x7 at 28).
  config.model.init = "torch"  # PyTorch's uniform init; "normal" is DCGAN's N(0, 0.02).
  config.model.conditional = False
  config.model.d_spectral_norm = False  # Spectral normalisation of D's weights (one power step a step).
  # > 0: self-conditioning on this many k-means clusters of the training images (jaxgan.clusters):
  # G and D are conditional on cluster ids that come from the images, never from labels.
  config.model.clusters = 0

  config.optimizer = ml_collections.ConfigDict()
  config.optimizer.g_lr = 3e-4
  config.optimizer.d_lr = 3e-4
  config.optimizer.b1 = 0.4
  config.optimizer.b2 = 0.8
  config.optimizer.eps = 1e-8
  config.optimizer.weight_decay = 1e-4

  config.loss = ml_collections.ConfigDict()
  config.loss.generator = "non_saturating"  # Or minimax, hinge, least_squares.
  config.loss.discriminator = "bce"  # Or hinge, least_squares.
  config.loss.r1_gamma = 0.0  # > 0 adds gamma / 2 * R1 (real-data gradient penalty) to the D loss ...
  config.loss.r1_every = 1  # ... every r1_every steps (lazy; scaled so its mean is the same).
  # The original code also added 0.05 * mean|fake - real| to the G loss. That pulls each fake towards an
  # unrelated real image of the batch, and the tutorial's text leaves it out, so it is off by default.
  config.loss.l1_weight = 0.0

  config.data = ml_collections.ConfigDict()
  config.data.dataset = "mnist"  # Any TFDS image dataset by name (source "tfds").
  # "idx": numpy-only reader of the four IDX .gz files; "folder": the images under data.folder.
  config.data.source = "tfds"
  config.data.folder = ""
  config.data.image_size = 0  # > 0: images resized and centre-cropped to this square size.
  config.data.channels = 0  # 1 (grey) or 3 (RGB); 0: as the data are.
  # A URL prefix serving the dataset's download files under their own names, instead of their URLs.
  config.data.download_mirror = os.environ.get("JAXGAN_TFDS_MIRROR", "")
  config.data.idx_dir = os.environ.get("JAXGAN_MNIST_IDX_DIR", "")
  config.data.tfds_data_dir = os.environ.get("TFDS_DATA_DIR", "")
  config.data.range = "unit"  # [0, 1] as ToTensor; "symmetric" is [-1, 1].

  # Warnings at log steps (jaxgan.health); they never stop a run.
  config.health = ml_collections.ConfigDict()
  config.health.d_loss_floor = 1e-3  # D has won: d_loss below this ...
  config.health.d_loss_patience = 5  # ... for this many log steps in a row.
  config.health.min_sample_distance = 0.005  # Collapse: RMS pixel distance between grid samples.
  config.health.max_grad_norm = 1000.0  # Exploding gradients: g_grad_norm or d_grad_norm above this.
  return config
