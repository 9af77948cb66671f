"""GAN training: state initialisation, the pure jitted train step, and the training loop."""

import dataclasses
import json
import os
import sys
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import tqdm
from flax import nnx

from jaxgan import checkpoint as checkpoint_lib
from jaxgan import config_validation
from jaxgan import data as data_lib
from jaxgan import health, losses, models, parallel, run_eval, visualize
from jaxgan.errors import CheckpointError, ConfigError
from jaxgan.state import GANState

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
# Independent random streams folded out of the run's key.
INIT_STREAM, DATA_STREAM, NOISE_STREAM = 0, 1, 2


def stream_key(key: jax.Array, stream: int) -> jax.Array:
  """The key of one random stream (INIT_STREAM, DATA_STREAM or NOISE_STREAM) of a run."""
  return jax.random.fold_in(key, stream)


@dataclasses.dataclass(frozen=True)
class GANSpec:
  """The static half of a GAN: graph definitions, optimizers and loss settings (never traced)."""
  g_graphdef: Any
  d_graphdef: Any
  g_tx: optax.GradientTransformation
  d_tx: optax.GradientTransformation
  latent_dim: int
  num_classes: int
  value_range: str
  generator_loss: str
  l1_weight: float
  ema_decay: float

  def generate(self, g_params, g_batch_stats, z_BxZ, labels_B=None, *, train=False):
    """Generator images in the data range (and the updated batch stats when `train`)."""
    generator = nnx.merge(self.g_graphdef, g_params, g_batch_stats)
    logits = generator(z_BxZ, labels_B, train=train)
    images = jax.nn.sigmoid(logits) if self.value_range == "unit" else jnp.tanh(logits)
    return images, nnx.state(generator, nnx.BatchStat).to_pure_dict()

  def discriminate(self, d_params, img_BxHxWxC, labels_B=None):
    """Discriminator logits_B."""
    return nnx.merge(self.d_graphdef, d_params)(img_BxHxWxC, labels_B)


def make_optimizer(opt_config, learning_rate: float) -> optax.GradientTransformation:
  """PyTorch's Adam(weight_decay=wd): L2 added to the gradient (not AdamW), then Adam."""
  return optax.chain(
      optax.add_decayed_weights(opt_config.weight_decay),
      optax.adam(learning_rate, b1=opt_config.b1, b2=opt_config.b2, eps=opt_config.eps))


def init_state(config, image_shape, num_classes: int = 0) -> tuple[GANState, GANSpec]:
  """Builds the models from `config` and returns (state, spec). Pure function of config.seed."""
  key = jax.random.PRNGKey(config.seed)
  generator, discriminator = models.build(
      config.model, image_shape=image_shape, num_classes=num_classes,
      dtype=DTYPES[config.dtype], key=stream_key(key, INIT_STREAM))
  g_graphdef, g_params, g_batch_stats = nnx.split(generator, nnx.Param, nnx.BatchStat)
  d_graphdef, d_params = nnx.split(discriminator, nnx.Param)
  g_params, g_batch_stats, d_params = (
      s.to_pure_dict() for s in (g_params, g_batch_stats, d_params))
  spec = GANSpec(
      g_graphdef=g_graphdef, d_graphdef=d_graphdef,
      g_tx=make_optimizer(config.optimizer, config.optimizer.g_lr),
      d_tx=make_optimizer(config.optimizer, config.optimizer.d_lr),
      latent_dim=config.model.latent_dim, num_classes=num_classes,
      value_range=config.data.range, generator_loss=config.loss.generator,
      l1_weight=config.loss.l1_weight, ema_decay=config.ema_decay)
  state = GANState(
      step=jnp.zeros((), jnp.int32), key=key,
      g_params=g_params, g_batch_stats=g_batch_stats, d_params=d_params,
      g_opt_state=spec.g_tx.init(g_params), d_opt_state=spec.d_tx.init(d_params),
      ema_params=jax.tree.map(jnp.copy, g_params) if config.ema_decay > 0 else None,
      nonfinite_count=jnp.zeros((), jnp.int32))
  return state, spec


def _all_finite(tree) -> jax.Array:
  return jnp.all(jnp.array([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def gan_update(spec: GANSpec, state: GANState, real_BxHxWxC: jax.Array, labels_B: jax.Array | None,
               z_BxZ: jax.Array) -> tuple[GANState, dict[str, jax.Array]]:
  """One step of the original: the G update first, then the D update on the same (detached) fakes.

  A step whose losses or gradients are not finite changes no weights; `nonfinite_count` counts such
  steps in a row and the `nonfinite` metric flags them.

  Args:
    spec: the static model and optimizer description.
    state: the current state.
    real_BxHxWxC: a real batch in the data range.
    labels_B: class labels when the GAN is conditional, else None.
    z_BxZ: the generator's noise.

  Returns:
    (new state, metrics): scalars g_loss, d_loss, real_loss, fake_loss, d_real, d_fake, g_grad_norm,
    d_grad_norm, nonfinite.
  """

  def g_loss_fn(g_params):
    fake, batch_stats = spec.generate(g_params, state.g_batch_stats, z_BxZ, labels_B, train=True)
    fake_logits = spec.discriminate(state.d_params, fake, labels_B)
    loss = losses.generator_loss(fake_logits, spec.generator_loss)
    if spec.l1_weight:
      loss = loss + spec.l1_weight * jnp.mean(jnp.abs(fake - real_BxHxWxC))
    return loss, (fake, batch_stats, fake_logits)

  (g_loss, (fake, g_batch_stats, fake_logits)), g_grads = jax.value_and_grad(
      g_loss_fn, has_aux=True)(state.g_params)
  fake = jax.lax.stop_gradient(fake)

  def d_loss_fn(d_params):
    real_logits = spec.discriminate(d_params, real_BxHxWxC, labels_B)
    d_fake_logits = spec.discriminate(d_params, fake, labels_B)
    d_loss, real_loss, fake_loss = losses.discriminator_loss(real_logits, d_fake_logits)
    return d_loss, (real_loss, fake_loss, real_logits)

  # The D gradients depend on the old D and the detached fakes only, so both updates can wait for
  # the finiteness check, and a skipped step costs no copy of the state.
  (d_loss, (real_loss, fake_loss, real_logits)), d_grads = jax.value_and_grad(
      d_loss_fn, has_aux=True)(state.d_params)
  finite = _all_finite((g_loss, d_loss, g_grads, d_grads))

  def apply_updates(state: GANState) -> GANState:
    g_updates, g_opt_state = spec.g_tx.update(g_grads, state.g_opt_state, state.g_params)
    g_params = optax.apply_updates(state.g_params, g_updates)
    d_updates, d_opt_state = spec.d_tx.update(d_grads, state.d_opt_state, state.d_params)
    ema_params = state.ema_params
    if ema_params is not None:
      # Warm-up: early on the average follows the weights closely instead of the initialisation.
      decay = jnp.minimum(spec.ema_decay, (1.0 + state.step) / (10.0 + state.step))
      ema_params = optax.incremental_update(g_params, ema_params, 1.0 - decay)
    return state.replace(
        g_params=g_params, g_batch_stats=g_batch_stats, g_opt_state=g_opt_state,
        d_params=optax.apply_updates(state.d_params, d_updates), d_opt_state=d_opt_state,
        ema_params=ema_params, nonfinite_count=jnp.zeros_like(state.nonfinite_count))

  def skip(state: GANState) -> GANState:
    return state.replace(nonfinite_count=state.nonfinite_count + 1)

  new_state = jax.lax.cond(finite, apply_updates, skip, state).replace(step=state.step + 1)
  metrics = dict(
      g_loss=g_loss, d_loss=d_loss, real_loss=real_loss, fake_loss=fake_loss,
      d_real=jnp.mean(jax.nn.sigmoid(real_logits)), d_fake=jnp.mean(jax.nn.sigmoid(fake_logits)),
      g_grad_norm=optax.global_norm(g_grads), d_grad_norm=optax.global_norm(d_grads),
      nonfinite=1 - finite.astype(jnp.int32))
  return new_state, metrics


def sample_noise(spec: GANSpec, key: jax.Array, batch_size: int) -> jax.Array:
  """z_BxZ ~ N(0, I)."""
  return jax.random.normal(key, (batch_size, spec.latent_dim), jnp.float32)


def _update_on_batch(spec: GANSpec, state: GANState, images_BxHxWxC, labels_B, batch_sharding):
  """gan_update on one gathered uint8 batch, with the noise of step `state.step`."""
  if batch_sharding is not None:
    images_BxHxWxC, labels_B = jax.lax.with_sharding_constraint((images_BxHxWxC, labels_B),
                                                                batch_sharding)
  real = data_lib.to_float(images_BxHxWxC, spec.value_range)
  noise_key = jax.random.fold_in(stream_key(state.key, NOISE_STREAM), state.step)
  z_BxZ = sample_noise(spec, noise_key, images_BxHxWxC.shape[0])
  return gan_update(spec, state, real, labels_B if spec.num_classes else None, z_BxZ)


def make_train_step(spec: GANSpec, batch_size: int, steps_per_epoch: int, batch_sharding=None):
  """The jitted `train_step(state, images, labels, perm_N) -> (state, metrics)` (state donated).

  The batch of step s is gathered on the device from the resident dataset, at position
  s % steps_per_epoch of `perm_N` (the current epoch's order); the noise is drawn from
  fold_in(noise stream, s). With `batch_sharding`, the batch is sharded along the mesh's data axis.
  """

  def train_step(state: GANState, images_NxHxWxC, labels_N, perm_N):
    step_in_epoch = state.step % steps_per_epoch
    images, labels_B = data_lib.gather_batch(images_NxHxWxC, labels_N, perm_N, step_in_epoch,
                                             batch_size)
    return _update_on_batch(spec, state, images, labels_B, batch_sharding)

  return jax.jit(train_step, donate_argnums=0)


def make_multi_step(spec: GANSpec, batch_size: int, steps_per_epoch: int, steps_per_call: int,
                    batch_sharding=None):
  """The jitted `multi_step(state, images, labels, perm_N, next_perm_N) -> (state, metrics_K)`.

  `steps_per_call` (K <= steps_per_epoch) train steps fused in one `lax.scan`, each exactly the step
  of `make_train_step`: step s gathers its batch from the order of epoch s // steps_per_epoch, which
  is `perm_N` for the epoch of the first step and `next_perm_N` for the one after it. Metrics are
  stacked along a leading axis of size K. The state is donated.
  """
  if not 1 <= steps_per_call <= steps_per_epoch:
    raise ValueError(f"steps_per_call must be in [1, {steps_per_epoch}], got {steps_per_call}")

  def multi_step(state: GANState, images_NxHxWxC, labels_N, perm_N, next_perm_N):
    first_epoch = state.step // steps_per_epoch

    def one_step(state, _):
      epoch, step_in_epoch = jnp.divmod(state.step, steps_per_epoch)
      start = step_in_epoch * batch_size
      idx_B = jnp.where(epoch == first_epoch,
                        jax.lax.dynamic_slice_in_dim(perm_N, start, batch_size),
                        jax.lax.dynamic_slice_in_dim(next_perm_N, start, batch_size))
      return _update_on_batch(spec, state, images_NxHxWxC[idx_B], labels_N[idx_B], batch_sharding)

    return jax.lax.scan(one_step, state, length=steps_per_call)

  return jax.jit(multi_step, donate_argnums=0)


SAMPLE_STREAM = 3  # The fixed noise of the sample grids, drawn from PRNGKey(seed).
GRID_SIZE = 64  # Samples in a grid: 8x8.


def make_sampler(spec: GANSpec):
  """The jitted `sample(g_params, g_batch_stats, z_BxZ, labels_B) -> uint8 images_BxHxWxC`.

  Samples in eval mode: BatchNorm uses its running statistics.
  """

  def sample(g_params, g_batch_stats, z_BxZ, labels_B):
    images, _ = spec.generate(g_params, g_batch_stats, z_BxZ, labels_B, train=False)
    return data_lib.to_uint8(images, spec.value_range)

  return jax.jit(sample)


def fixed_inputs(spec: GANSpec, key: jax.Array, num: int) -> tuple[jax.Array, jax.Array | None]:
  """(z_NxZ, labels_N) to sample from: noise from `key`, labels cycling through the classes."""
  labels_N = jnp.arange(num, dtype=jnp.int32) % spec.num_classes if spec.num_classes else None
  return sample_noise(spec, key, num), labels_N


def sample_images(spec: GANSpec, state: GANState, key: jax.Array, num: int,
                  chunk: int = 1000, sampler=None) -> np.ndarray:
  """`num` uint8 images_NxHxWxC from the state's sampling weights, in eval mode; a pure function of key.

  `sampler`: a `make_sampler(spec)` to reuse (and not compile again).
  """
  sampler = sampler or make_sampler(spec)
  z_NxZ, labels_N = fixed_inputs(spec, key, num)
  images = []
  for start in range(0, num, chunk):
    labels = None if labels_N is None else labels_N[start:start + chunk]
    images.append(jax.device_get(sampler(state.sampling_params(), state.g_batch_stats,
                                         z_NxZ[start:start + chunk], labels)))
  return np.concatenate(images)


def _init_state_compiled(config, image_shape, num_classes: int, sharding=None,
                         abstract: bool = False) -> tuple[GANState, GANSpec]:
  """`init_state` as one compiled computation (placed with `sharding`), or only its shapes (`abstract`).

  Eager initialisation compiles every small op on its own, which dominates a short run's start-up.
  """
  specs = []

  def init():
    state, spec = init_state(config, image_shape, num_classes)
    specs.append(spec)
    return state

  if abstract:
    state = jax.eval_shape(init)
  else:
    state = jax.jit(init, out_shardings=sharding)()
  return state, specs[0]


def load_config(workdir: str) -> ml_collections.ConfigDict:
  """The resolved config a run saved in WORKDIR/config.json."""
  path = os.path.join(workdir, "config.json")
  if not os.path.isfile(path):
    raise CheckpointError(f"{path} not found; is {workdir} the workdir of a training run?")
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def restore_run(workdir: str, step: int | None = None, *, best: bool = False
                ) -> tuple[ml_collections.ConfigDict, GANState, GANSpec]:
  """(config, state, spec) of a training run: its config.json and checkpoint `step` (None: latest).

  `best`: from the best checkpoint by FCD (checkpoints_best/) instead of the latest ones.
  """
  config = load_config(workdir)
  config_validation.validate(config)
  directory = os.path.join(workdir, run_eval.BEST_DIR if best else "checkpoints")
  if not os.path.isdir(directory):
    raise CheckpointError(f"no checkpoint folder {directory}" + (
        "; the best checkpoint is kept only when config.eval_every_steps > 0" if best else ""))
  with checkpoint_lib.Checkpoints(directory, create=False) as ckpts:
    step = ckpts.resolve_step(step)
    info = ckpts.run_info(step)
    target, spec = _init_state_compiled(config, info["image_shape"], info["num_classes"],
                                        abstract=True)
    state = ckpts.restore(_on_device(target, jax.sharding.SingleDeviceSharding(jax.devices()[0])),
                          step)
  return config, state, spec


def _on_device(abstract: GANState, sharding) -> GANState:
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), abstract)


class _MetricsLog:
  """metrics.jsonl and TensorBoard scalars; on resume, drops what was logged after the restored step."""

  def __init__(self, workdir: str, start_step: int):
    import tensorboardX  # pylint: disable=g-import-not-at-top  (it imports torch when installed: slow)
    self.path = os.path.join(workdir, "metrics.jsonl")
    self.records = []
    if os.path.exists(self.path):
      with open(self.path) as f:
        self.records = [r for r in map(json.loads, filter(str.strip, f)) if r["step"] <= start_step]
    with open(self.path, "w") as f:
      f.writelines(json.dumps(r) + "\n" for r in self.records)
    self._file = open(self.path, "a")
    self._tb = tensorboardX.SummaryWriter(os.path.join(workdir, "tensorboard"),
                                          purge_step=start_step + 1 if start_step else None)

  def write(self, record: dict) -> None:
    self.records.append(record)
    self._file.write(json.dumps(record) + "\n")
    self._file.flush()
    for name, value in record.items():
      if name != "step":
        self._tb.add_scalar(name, value, record["step"])

  def close(self) -> None:
    self._file.close()
    self._tb.close()


def _save_grid(sampler, state: GANState, z_BxZ, labels_B, samples_dir: str, step: int) -> None:
  images = jax.device_get(sampler(state.sampling_params(), state.g_batch_stats, z_BxZ, labels_B))
  if parallel.is_main_process():  # Every process samples (one SPMD program); process 0 writes.
    visualize.save_grid(images, os.path.join(samples_dir, f"step_{step:07d}.png"))


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> GANState:
  """Trains the GAN of `config` in `workdir`, resuming from its latest checkpoint; returns the state.

  Writes to `workdir`: config.json, metrics.jsonl, tensorboard/, checkpoints/,
  samples/step_XXXXXXX.png (an 8x8 grid from fixed noise after every epoch and at the end),
  samples/progress.gif and loss_curves.png; with evaluation on (see `run_eval.TrainingEvaluation`),
  eval/* and eval_final/* metrics, checkpoints_best/ and eval.json. In a multi-process run every
  process calls this; all take part in each step and checkpoint, and only process 0 writes logs,
  metrics and pictures.

  Resuming skips a broken latest checkpoint (with a warning). SIGTERM saves a checkpoint of the
  current step and returns early. At log steps, `health` alarms print one-line warnings.

  Raises:
    ConfigError: a config field or the workdir is invalid (before any work starts).
    DataError, CheckpointError: the data or a checkpoint cannot be used, or a save failed.
    JaxganError: config.max_nonfinite_steps non-finite steps in a row (their updates skipped).
  """
  config_validation.validate(config)
  workdir = checkpoint_lib.prepare_workdir(workdir)
  samples_dir = os.path.join(workdir, "samples")
  os.makedirs(samples_dir, exist_ok=True)

  images_N, labels_N = data_lib.load_split(config.data, "train")
  num_examples, batch_size = len(images_N), config.batch_size
  steps_per_epoch = data_lib.steps_per_epoch(num_examples, batch_size)
  if steps_per_epoch == 0:
    raise ConfigError(f"config.batch_size: got {batch_size}, more than the {num_examples} "
                      "training examples")
  total_steps = config.num_steps or config.num_epochs * steps_per_epoch
  mesh = parallel.make_mesh()
  parallel.check_batch_size(batch_size, mesh)
  main = parallel.is_main_process()
  replicated = parallel.replicated(mesh)

  num_classes = int(labels_N.max()) + 1 if config.model.conditional else 0
  image_shape = images_N.shape[1:]
  state, spec = _init_state_compiled(config, image_shape, num_classes, replicated)
  run_info = dict(image_shape=list(image_shape), num_classes=num_classes)
  ckpts = checkpoint_lib.Checkpoints(os.path.join(workdir, "checkpoints"),
                                     keep=config.keep_checkpoints)
  if ckpts.all_steps():
    state = ckpts.restore(state, set_aside_broken=True)
  start_step = int(jax.device_get(state.step))
  if start_step and main:
    print(f"resuming from step {start_step} of {ckpts.directory}", file=sys.stderr, flush=True)
  if main:
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(config.to_json_best_effort(indent=2, sort_keys=True) + "\n")

  images_NxHxWxC = parallel.put_replicated(mesh, images_N)
  labels_N = parallel.put_replicated(mesh, labels_N)
  train_step = make_train_step(spec, batch_size, steps_per_epoch, parallel.batch_sharding(mesh))
  epoch_order = jax.jit(
      lambda key, step: data_lib.epoch_permutation(
          stream_key(key, DATA_STREAM), step // steps_per_epoch, num_examples),
      out_shardings=replicated)
  sampler = make_sampler(spec)
  evaluation = run_eval.TrainingEvaluation(
      config, workdir, lambda s, key, num: sample_images(spec, s, key, num, sampler=sampler))
  grid_z, grid_labels = jax.device_put(
      fixed_inputs(spec, jax.random.fold_in(jax.random.PRNGKey(config.seed), SAMPLE_STREAM),
                   GRID_SIZE), replicated)
  metrics_log = _MetricsLog(workdir, start_step) if main else None
  if start_step == 0:
    _save_grid(sampler, state, grid_z, grid_labels, samples_dir, 0)

  bar = tqdm.tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True,
                  disable=not main)
  last_step, last_time = start_step, time.perf_counter()
  epoch_time = last_time
  perm_N = None
  nonfinite = health.NonfiniteStreak(int(jax.device_get(state.nonfinite_count)),
                                     config.max_nonfinite_steps)
  monitor, previous = health.HealthMonitor(config.health), None
  stop_signal = checkpoint_lib.StopSignal()
  stop_signal.install()
  try:
    for step in range(start_step, total_steps):
      with jax.transfer_guard("disallow"):  # Nothing may cross to or from the host per step.
        if perm_N is None or step % steps_per_epoch == 0:
          perm_N = epoch_order(state.key, state.step)
        state, metrics = train_step(state, images_NxHxWxC, labels_N, perm_N)
      done = step + 1
      bar.update()
      if previous is not None:  # The previous step's flag: reading it leaves this step queued.
        nonfinite.update(previous[0], jax.device_get(previous[1]["nonfinite"]), previous[1])
      previous = (done, metrics)

      if done % config.log_every_steps == 0 or done == total_steps:
        metrics, samples = jax.device_get(
            (metrics, sampler(state.sampling_params(), state.g_batch_stats, grid_z, grid_labels)))
        now = time.perf_counter()
        record = dict(step=done, epoch=done / steps_per_epoch,
                      **{k: float(v) for k, v in metrics.items()},
                      images_per_sec=(done - last_step) * batch_size / (now - last_time))
        last_step, last_time = done, now
        if main:
          metrics_log.write(record)
          bar.set_postfix(g_loss=f"{record['g_loss']:.4f}", d_loss=f"{record['d_loss']:.4f}")
          bar.write(f"step {done}/{total_steps}: g_loss {record['g_loss']:.4f}, "
                    f"d_loss {record['d_loss']:.4f}, real_loss {record['real_loss']:.4f}, "
                    f"fake_loss {record['fake_loss']:.4f}, {record['images_per_sec']:.0f} images/s")
          for warning in monitor.update(done, record, samples):
            bar.write(f"warning: {warning}", file=sys.stderr)

      if done % steps_per_epoch == 0 or done == total_steps:
        _save_grid(sampler, state, grid_z, grid_labels, samples_dir, done)
        if done % steps_per_epoch == 0 and main:
          now = time.perf_counter()
          metrics_log.write(dict(step=done, epoch_seconds=now - epoch_time))
          bar.write(f"epoch {done // steps_per_epoch} done in {now - epoch_time:.1f} s")
          epoch_time = now

      if done % config.checkpoint_every_steps == 0 or done == total_steps:
        ckpts.save(state, done, run_info)
      if stop_signal.requested or ckpts.reached_preemption(done):
        if ckpts.latest_step() != done:
          ckpts.save(state, done, run_info)
        ckpts.wait()
        bar.write(f"stopped by SIGTERM at step {done}: checkpoint saved in {ckpts.directory}; rerun "
                  "the same command to resume", file=sys.stderr)
        return state

      if evaluation.due(done, total_steps):
        eval_start = time.perf_counter()
        eval_metrics, is_best = evaluation.periodic(state, done, run_info)
        eval_seconds = time.perf_counter() - eval_start
        last_time, epoch_time = last_time + eval_seconds, epoch_time + eval_seconds  # Training only.
        if main:
          metrics_log.write(dict(step=done, **{f"eval/{k}": v for k, v in eval_metrics.items()},
                                 **{"eval/seconds": eval_seconds}))
          bar.write(f"eval at step {done}, {run_eval.summary(eval_metrics)}"
                    + (" (best so far)" if is_best else ""))
    if previous is not None:
      nonfinite.update(previous[0], jax.device_get(previous[1]["nonfinite"]), previous[1])
    ckpts.wait()
    final_metrics = evaluation.final(state, total_steps, write=main)
    if final_metrics is not None and main:
      metrics_log.write(dict(step=total_steps,
                             **{f"eval_final/{k}": v for k, v in final_metrics.items()}))
      bar.write(f"final eval at step {total_steps}, {run_eval.summary(final_metrics)}")
  finally:
    stop_signal.uninstall()
    bar.close()
    if main:
      metrics_log.close()
    ckpts.close()
    evaluation.close()

  if main:
    frames = sorted(os.path.join(samples_dir, name) for name in os.listdir(samples_dir)
                    if name.startswith("step_") and name.endswith(".png"))
    if frames:
      visualize.save_gif(frames, os.path.join(samples_dir, "progress.gif"))
    visualize.plot_losses(metrics_log.records, os.path.join(workdir, "loss_curves.png"))
  return state
