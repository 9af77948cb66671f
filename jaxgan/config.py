"""The default run config: every field a run accepts, set to the seed (the tutorial's MLP GAN, faithfully).

`config_validation` derives the set of fields and their types from this config, so a field is added
here, once; the configs in experiments/configs/ start from it and change values only.
"""

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
  # Family fields: another model.name refuses them unless at their default.
  config.model.g_hidden = (128, 256, 512, 1024)  # MLP only.
  config.model.d_hidden = (512, 256, 128, 64, 32)  # MLP only.
  config.model.width = 0  # DCGAN only (>= 1): features of its last hidden stage (14x14xw at 28).
  config.model.stages = 2  # DCGAN only: 3 adds a stride-1 conv stage at the base size (7x7 at 28).
  config.model.init = "torch"  # PyTorch's uniform init; "normal" is DCGAN's N(0, 0.02).
  config.model.conditional = False
  config.model.d_spectral_norm = False  # Spectral normalisation of D's weights (one power step a step).
  # > 0: self-conditioning on this many k-means clusters of the training images (jaxgan.clusters):
  # G and D are conditional on cluster ids that come from the images, never from labels. With
  # model.conditional: this many k-means sub-clusters inside each class, G and D conditional on the
  # (class, sub-cluster) pairs.
  config.model.clusters = 0

  config.optimizer = ml_collections.ConfigDict()
  config.optimizer.g_lr = 3e-4
  config.optimizer.d_lr = 3e-4
  config.optimizer.b1 = 0.4
  config.optimizer.b2 = 0.8
  config.optimizer.eps = 1e-8
  config.optimizer.weight_decay = 1e-4

  config.loss = _loss_config()
  config.data = _data_config()
  # Warnings at log steps (jaxgan.health); they never stop a run.
  config.health = _health_config()
  return config


def _loss_config() -> ml_collections.ConfigDict:
  """The G and D losses and their regularisers."""
  loss = ml_collections.ConfigDict()
  loss.generator = "non_saturating"  # Or minimax, hinge, least_squares.
  loss.discriminator = "bce"  # Or hinge, least_squares.
  loss.r1_gamma = 0.0  # > 0 adds gamma / 2 * R1 (real-data gradient penalty) to the D loss ...
  loss.r1_every = 1  # ... every r1_every steps (lazy; scaled so its mean is the same).
  # The original code also added 0.05 * mean|fake - real| to the G loss. That pulls each fake towards an
  # unrelated real image of the batch, and the tutorial's text leaves it out, so it is off by default.
  loss.l1_weight = 0.0
  return loss


def _data_config() -> ml_collections.ConfigDict:
  """Where the images come from and how they are read."""
  data = ml_collections.ConfigDict()
  data.dataset = "mnist"  # Any TFDS image dataset by name (source "tfds").
  # "idx": numpy-only reader of the four IDX .gz files; "folder": the images under data.folder.
  data.source = "tfds"
  data.folder = ""
  data.image_size = 0  # > 0: images resized and centre-cropped to this square size.
  data.channels = 0  # 1 (grey) or 3 (RGB); 0: as the data are.
  # The machine's data paths. Empty: read from the environment when the data are loaded, so that a
  # run's config.json holds no path of the machine it trained on.
  # A URL prefix serving the dataset's download files under their own names ($JAXGAN_TFDS_MIRROR).
  data.download_mirror = ""
  data.idx_dir = ""  # The four IDX .gz files ($JAXGAN_MNIST_IDX_DIR).
  data.tfds_data_dir = ""  # $TFDS_DATA_DIR, else TFDS's default.
  data.range = "unit"  # [0, 1] as ToTensor; "symmetric" is [-1, 1].
  # "resident": the whole split on every device; "stream": batches read by grain threads as the
  # steps need them; "auto": resident when it fits resident_budget_mib (docs/data.md).
  data.pipeline = "auto"
  data.resident_budget_mib = 0  # 0: half the device's memory (a quarter of the host's on CPU).
  data.stream_threads = 8  # Threads that read and decode streamed batches.
  return data


def _health_config() -> ml_collections.ConfigDict:
  """The thresholds of the health warnings at log steps."""
  health = ml_collections.ConfigDict()
  health.d_loss_floor = 1e-3  # D has won: d_loss below this ...
  health.d_loss_patience = 5  # ... for this many log steps in a row.
  health.min_sample_distance = 0.005  # Collapse: RMS pixel distance between grid samples.
  health.max_grad_norm = 1000.0  # Exploding gradients: g_grad_norm or d_grad_norm above this.
  return health
