"""Every field of a run config, declared once: its default (the seed, the tutorial's MLP GAN), its
check, its help and what a resume may change. `default_config`, validation, `--help`, resume and
config.json all read FIELDS; a new field is one entry here, with the default that keeps the old
behaviour (a run saved without it loads with that default)."""

import dataclasses
from typing import Any

import ml_collections

from jaxgan.config import checks

# What a resume of a workdir with another value of the field does (jaxgan.run.resume):
SHAPE = "shape"  # refused: the checkpoint was trained for the old value;
TOGGLE = "toggle"  # refused when turned on or off (0 <-> > 0); another value is a training change;
SCHEDULE = "schedule"  # accepted and logged;
TRAINING = "training"  # accepted with a warning naming it;
MACHINE = "machine"  # not compared: where this machine keeps the data.


@dataclasses.dataclass(frozen=True)
class Field:
  """A config field: its default, help text, resume class, check (None: by the default's type)
  and, for a model field, the model family that reads it (others keep the default)."""
  default: Any
  help: str
  resume: str = TRAINING
  check: checks.Check | None = None
  family: str | None = None

  def validate(self, value) -> str | None:
    """None when `value` is valid, else what the field expects."""
    return (self.check or checks.by_type(self.default))(value)


# The names the layers below implement (tests/test_architecture.py checks that they agree), kept
# here so that reading a config imports no model, loss or data code.
DTYPES = ("float32", "bfloat16")  # jaxgan.models.DTYPES
MODELS = ("mlp", "dcgan")  # jaxgan.models.REGISTRY
INITS = ("torch", "normal")  # jaxgan.models.layers.INITS
SAMPLING_MODES = ("running", "standing", "batch")  # jaxgan.core.sampling.SAMPLING_MODES
GENERATOR_LOSSES = ("non_saturating", "minimax", "hinge", "least_squares")  # jaxgan.core.losses
DISCRIMINATOR_LOSSES = ("bce", "hinge", "least_squares")  # jaxgan.core.losses
SOURCES = ("tfds", "idx", "folder")  # jaxgan.data.splits.SOURCES
RANGES = ("unit", "symmetric")  # jaxgan.data.batches.RANGES
PIPELINES = ("auto", "resident", "stream")  # jaxgan.data.batches.PIPELINES

_NAMED_DATASET = lambda v: None if isinstance(v, str) and v.strip() else "a TFDS dataset name"
_CHANNELS = lambda v: None if checks.is_int(v) and v in (0, 1, 3) else "0, 1 or 3"

FIELDS: dict[str, Field] = {
    "seed": Field(0, "Seed of every random stream of the run.", SHAPE, checks.integer(0, 2**32 - 1)),
    "batch_size": Field(64, "Images per step (the global batch, over every device).",
                        check=checks.integer(1)),
    "num_epochs": Field(30, "Epochs to train (num_steps > 0 overrides it).", SCHEDULE),
    "num_steps": Field(0, "Steps to train; 0: num_epochs.", SCHEDULE),
    "log_every_steps": Field(50, "Steps between progress lines and metrics records.", SCHEDULE,
                             checks.integer(1)),
    "checkpoint_every_steps": Field(5000, "Steps between checkpoints.", SCHEDULE, checks.integer(1)),
    "keep_checkpoints": Field(3, "Latest checkpoints kept.", SCHEDULE, checks.integer(1)),
    "eval_every_steps": Field(0, "Steps between evaluations of eval_num samples, keeping the best "
                              "checkpoint by FCD (0: none).", SCHEDULE),
    "eval_num": Field(2000, "Samples of each evaluation during training.", SCHEDULE,
                      checks.integer(1)),
    "eval_final_num": Field(10000, "Samples of the final evaluation (0: none).", SCHEDULE),
    "eval_features": Field("classifier", "Features the evaluations use: classifier (the dataset's "
                           "evaluator: FCD, label accuracy) or inception (FID, KID, IS on "
                           "pytorch-fid's Inception, any images; minutes on a CPU).", SCHEDULE,
                           checks.one_of(("classifier", "inception"))),
    "ema_decay": Field(0.0, "> 0 keeps an EMA of the generator, used for samples and evaluation.",
                       TOGGLE, checks.number(0.0, high=1.0)),
    "sampling": Field("standing", "BatchNorm statistics to sample with: standing (recomputed for "
                      "the sampling weights), running or batch.", SCHEDULE,
                      checks.one_of(SAMPLING_MODES)),
    "dtype": Field("float32", "Compute dtype of the networks.", SHAPE,
                   checks.one_of(DTYPES)),
    "steps_per_call": Field(0, "Train steps fused into one call (0: by backend).", SCHEDULE),
    "profile_steps": Field(0, "> 0: a jax.profiler trace of this many steps in WORKDIR/profile/.",
                           SCHEDULE),
    "d_steps": Field(1, "D steps per G step: G is updated at steps divisible by it.",
                     check=checks.integer(1)),
    "max_nonfinite_steps": Field(10, "Non-finite steps in a row (each skipped) that stop the run.",
                                 SCHEDULE, checks.integer(1)),
    "model.name": Field("mlp", "Model family: mlp (the seed) or dcgan.", SHAPE,
                        checks.one_of(MODELS)),
    "model.latent_dim": Field(96, "Dimension of the generator's noise z.", SHAPE, checks.integer(1)),
    "model.g_hidden": Field((128, 256, 512, 1024), "Generator hidden sizes.", SHAPE, family="mlp"),
    "model.d_hidden": Field((512, 256, 128, 64, 32), "Discriminator hidden sizes.", SHAPE,
                            family="mlp"),
    "model.width": Field(0, "Features of the DCGAN's last hidden stage (>= 1; 14x14xw at 28).",
                         SHAPE, family="dcgan"),
    "model.stages": Field(2, "DCGAN stages: 3 adds a stride-1 conv stage at the base size.", SHAPE,
                          checks.integer(2, 3), family="dcgan"),
    "model.init": Field("torch", "Initialisation: torch (PyTorch's uniform) or normal (DCGAN's "
                        "N(0, 0.02)).", SHAPE, checks.one_of(INITS)),
    "model.conditional": Field(False, "G and D conditional on the dataset's classes.", SHAPE),
    "model.d_spectral_norm": Field(False, "Spectral normalisation of D (one power step a step).",
                                   SHAPE),
    "model.d_minibatch_std": Field(0, "> 0: D sees the standard deviation of its last features over "
                                   "groups of this many images (ProGAN's minibatch standard "
                                   "deviation); batch_size must divide by it.", SHAPE,
                                   checks.integer(0), family="dcgan"),
    "model.clusters": Field(0, "> 0: self-conditioning on this many k-means clusters of the images; "
                            "with model.conditional, this many k-means sub-clusters in each class.",
                            SHAPE),
    "optimizer.g_lr": Field(3e-4, "Generator learning rate.", check=checks.number(0.0, low_open=True)),
    "optimizer.d_lr": Field(3e-4, "Discriminator learning rate.",
                            check=checks.number(0.0, low_open=True)),
    "optimizer.b1": Field(0.4, "Adam beta1.", check=checks.number(0.0, high=1.0)),
    "optimizer.b2": Field(0.8, "Adam beta2.", check=checks.number(0.0, high=1.0)),
    "optimizer.eps": Field(1e-8, "Adam epsilon.", check=checks.number(0.0, low_open=True)),
    "optimizer.lr_decay": Field(0.0, "> 0: both learning rates fall linearly to 0 over this last "
                                "fraction of num_steps (a resume to more steps stretches it).",
                                check=checks.number(0.0, high=1.0, high_open=False)),
    "optimizer.weight_decay": Field(1e-4, "L2 added to the gradient, as PyTorch's Adam (not AdamW)."),
    "loss.generator": Field("non_saturating", "Generator loss.",
                            check=checks.one_of(GENERATOR_LOSSES)),
    "loss.discriminator": Field("bce", "Discriminator loss.",
                                check=checks.one_of(DISCRIMINATOR_LOSSES)),
    "loss.r1_gamma": Field(0.0, "> 0 adds gamma / 2 * R1 (real-data gradient penalty) to D's loss."),
    "loss.r1_every": Field(1, "R1 every this many steps (lazy; scaled to the same mean).",
                           check=checks.integer(1)),
    "loss.class_weight": Field(0.0, "> 0: D also classifies real images into the dataset's classes "
                               "(AC-GAN), and G's loss adds this weight times the cross-entropy of "
                               "its samples' asked classes; needs model.conditional.", TOGGLE,
                               family="dcgan"),
    "loss.mode_seeking_weight": Field(0.0, "> 0: each batch's fakes come in pairs asked for one "
                                      "label, and G's loss adds this weight over the ratio of the "
                                      "pairs' image and latent distances (MSGAN); needs an even "
                                      "batch_size."),
    "loss.l1_weight": Field(0.0, "The original code's 0.05 * mean|fake - real| in G's loss; off, as "
                            "in the tutorial's text (it pulls each fake to an unrelated real)."),
    "data.dataset": Field("mnist", "Any TFDS image dataset by name.", SHAPE, _NAMED_DATASET),
    "data.source": Field("tfds", "tfds, idx (the four IDX .gz files) or folder (data.folder).",
                         MACHINE, checks.one_of(SOURCES)),
    "data.folder": Field("", "A folder of PNG/JPEG images (subfolders as classes).", MACHINE),
    "data.image_size": Field(0, "> 0: images resized and centre-cropped to this square size.",
                             SHAPE),
    "data.channels": Field(0, "1 (grey) or 3 (RGB); 0: as the data are.", SHAPE, _CHANNELS),
    "data.download_mirror": Field("", "A URL prefix serving the dataset's download files "
                                  "($JAXGAN_TFDS_MIRROR).", MACHINE),
    "data.idx_dir": Field("", "The four IDX .gz files ($JAXGAN_MNIST_IDX_DIR).", MACHINE),
    "data.tfds_data_dir": Field("", "TFDS data dir ($TFDS_DATA_DIR, else TFDS's default).",
                                MACHINE),
    "data.range": Field("unit", "Pixel range: unit [0, 1] as ToTensor, or symmetric [-1, 1].",
                        SHAPE, checks.one_of(RANGES)),
    "data.pipeline": Field("auto", "resident, stream, or auto: resident when it fits "
                           "data.resident_budget_mib.", check=checks.one_of(PIPELINES)),
    "data.resident_budget_mib": Field(0, "0: half the device's memory (a quarter of the host's "
                                      "on CPU)."),
    "data.stream_threads": Field(8, "Threads that read and decode streamed batches.",
                                 check=checks.integer(1)),
    "health.d_loss_floor": Field(1e-3, "D has won: d_loss below this ...", SCHEDULE),
    "health.d_loss_patience": Field(5, "... for this many log steps in a row.", SCHEDULE,
                                    checks.integer(1)),
    "health.min_sample_distance": Field(0.005, "Collapse: RMS pixel distance between grid samples.",
                                        SCHEDULE),
    "health.max_grad_norm": Field(1000.0, "Exploding gradients: a gradient norm above this.",
                                  SCHEDULE, checks.number(0.0, low_open=True)),
}


def default_config() -> ml_collections.ConfigDict:
  """A config of every field at its default: the original's settings (batch 64, Adam(3e-4,
  betas=(0.4, 0.8), weight_decay=1e-4), BCE, the MLP networks)."""
  config = ml_collections.ConfigDict()
  for name, field in FIELDS.items():
    *groups, leaf = name.split(".")
    node = config
    for group in groups:
      if group not in node:
        node[group] = ml_collections.ConfigDict()
      node = node[group]
    node[leaf] = field.default
  return config


def flatten(config, prefix: str = "") -> dict[str, Any]:
  """{"optimizer.g_lr": value, ...}: the fields of a (nested) config by dotted name."""
  out = {}
  for name, value in config.items():
    if hasattr(value, "items"):
      out.update(flatten(value, f"{prefix}{name}."))
    else:
      out[f"{prefix}{name}"] = value
  return out


def help_text() -> str:
  """One line per field: `NAME (default DEFAULT; resume: CLASS): HELP`."""
  return "\n".join(f"  {name} (default {field.default!r}; resume: {field.resume}): {field.help}"
                   for name, field in FIELDS.items())
