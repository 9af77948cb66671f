"""The GAN itself: its static spec, its state's initialisation, the pure update and the jitted steps."""

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from jaxgan import models, rng
from jaxgan.core import losses, regularizers
from jaxgan.core.state import GANState

# The path in D's parameters of the projection discriminator's class embedding table.
_PROJECTION = ("embed", "embedding")


def dataset_classes(labels, subclusters: int):
  """The dataset classes of labels (ints or arrays): `label // subclusters` when the labels are
  (class, sub-cluster) pairs, else the labels themselves. Of a label count, the class count."""
  return labels // subclusters if subclusters else labels


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
  discriminator_loss: str
  l1_weight: float
  r1_gamma: float
  r1_every: int
  d_steps: int
  ema_decay: float
  # Skip a non-finite step by selecting the old state (True) or with a lax.cond (False). On GPU a
  # cond copies its predicate to the host and waits for it at every step; on CPU it is cheaper.
  select_skip: bool
  # The frequencies of the labels in the training data, with which samples draw them: of the
  # k-means clusters of self-conditioning, or of the (class, sub-cluster) pairs with `subclusters`
  # (None: dataset classes, sampled in turn).
  label_prior: tuple[float, ...] | None = None
  # > 0: the labels are `class * subclusters + k`, k a k-means sub-cluster of the class's images.
  subclusters: int = 0
  # > 0: D's auxiliary classifier learns the classes of real images, and G's loss adds this weight
  # times its cross-entropy on the fakes' asked classes (AC-GAN, its classifier trained on real only).
  class_weight: float = 0.0
  # > 0: both halves of a batch's fakes are asked for the first half's labels, and G's loss adds
  # this weight times `losses.mode_seeking_loss` of the pairs (MSGAN).
  mode_seeking_weight: float = 0.0

  @property
  def class_conditional(self) -> bool:
    """Whether the labels are (or refine) the dataset's classes, not self-conditioning clusters."""
    return self.num_classes > 0 and (self.label_prior is None or self.subclusters > 0)

  @property
  def label_classes(self) -> int:
    """The classes a user can ask for: the dataset's classes of a class-conditional GAN, else 0."""
    if not self.class_conditional:
      return 0
    return dataset_classes(self.num_classes, self.subclusters)

  def generate(self, g_params, g_batch_stats, z_BxZ, labels_B=None, *, train=False):
    """Generator images in the data range (and the updated batch stats when `train`)."""
    generator = nnx.merge(self.g_graphdef, g_params, g_batch_stats)
    logits = generator(z_BxZ, labels_B, train=train)
    images = jax.nn.sigmoid(logits) if self.value_range == "unit" else jnp.tanh(logits)
    return images, nnx.state(generator, nnx.BatchStat).to_pure_dict()

  def _discriminator(self, d_params, sn_vectors, labels_B):
    """(D as a module, the labels to call it with); with `sn_vectors`, of the spectrally normalised
    weights. Its projection table is then normalised after the batch's rows are gathered, and the
    labels index those rows: dividing all of a 400-row table at every step made the step 1.23x
    slower (benchmarks/README.md)."""
    if sn_vectors is None:
      return nnx.merge(self.d_graphdef, d_params), labels_B
    if labels_B is None:  # Unconditional: no table.
      return nnx.merge(self.d_graphdef, regularizers.spectral_normalize(d_params, sn_vectors)), None
    d_params = regularizers.spectral_normalize(d_params, sn_vectors, rows={_PROJECTION: labels_B})
    return nnx.merge(self.d_graphdef, d_params), jnp.arange(labels_B.shape[0])

  def discriminate(self, d_params, img_BxHxWxC, labels_B=None, sn_vectors=None):
    """Discriminator logits_B; with `sn_vectors`, of the spectrally normalised weights."""
    discriminator, labels_B = self._discriminator(d_params, sn_vectors, labels_B)
    return discriminator(img_BxHxWxC, labels_B)

  def with_class_loss(self, d_params, img_BxHxWxC, labels_B=None, sn_vectors=None):
    """(D's logits_B, its class loss): class_weight * the auxiliary classifier's cross-entropy
    against the labels' classes (0 without `class_weight`)."""
    if not self.class_weight:
      return self.discriminate(d_params, img_BxHxWxC, labels_B, sn_vectors), jnp.zeros(())
    discriminator, rows_B = self._discriminator(d_params, sn_vectors, labels_B)
    logits_B, class_logits_BxC = discriminator.logits_and_classes(img_BxHxWxC, rows_B)
    classes_B = dataset_classes(labels_B, self.subclusters)
    return logits_B, self.class_weight * losses.class_loss(class_logits_BxC, classes_B)


def learning_rate(base_lr: float, num_updates: int, decay: float) -> optax.ScalarOrSchedule:
  """`base_lr`, falling linearly to 0 over the last `decay` fraction of `num_updates` when > 0."""
  decay_updates = round(decay * num_updates)
  if not decay_updates:
    return base_lr
  return optax.linear_schedule(base_lr, 0.0, decay_updates,
                               transition_begin=num_updates - decay_updates)


def make_optimizer(opt_config, base_lr: float, every: int = 1,
                   num_steps: int = 0) -> optax.GradientTransformation:
  """PyTorch's Adam(weight_decay=wd): L2 added to the gradient (not AdamW), then Adam.

  The optimizer updates at one step in `every`; with `opt_config.lr_decay`, its rate falls
  linearly to 0 over that last fraction of the run's `num_steps`.
  """
  lr = learning_rate(base_lr, num_steps // every, opt_config.lr_decay)
  return optax.chain(
      optax.add_decayed_weights(opt_config.weight_decay),
      optax.adam(lr, b1=opt_config.b1, b2=opt_config.b2, eps=opt_config.eps))


def init_state(config, image_shape, num_classes: int = 0,
               label_prior: tuple[float, ...] | None = None) -> tuple[GANState, GANSpec]:
  """Builds the models from `config` and returns (state, spec). Pure function of config.seed.

  `num_classes` > 0 makes G and D conditional; `label_prior` marks the labels as self-conditioning
  clusters with those frequencies.
  """
  key = jax.random.PRNGKey(config.seed)
  subclusters = config.model.clusters if config.model.conditional else 0
  aux_classes = dataset_classes(num_classes, subclusters) if config.loss.class_weight else 0
  generator, discriminator = models.build(
      config.model, image_shape=image_shape, num_classes=num_classes,
      dtype=models.DTYPES[config.dtype], key=rng.stream_key(key, rng.INIT),
      aux_classes=aux_classes)
  g_graphdef, g_params, g_batch_stats = nnx.split(generator, nnx.Param, nnx.BatchStat)
  d_graphdef, d_params = nnx.split(discriminator, nnx.Param)
  g_params, g_batch_stats, d_params = (
      s.to_pure_dict() for s in (g_params, g_batch_stats, d_params))
  spec = GANSpec(
      g_graphdef=g_graphdef, d_graphdef=d_graphdef,
      g_tx=make_optimizer(config.optimizer, config.optimizer.g_lr, config.d_steps,
                          config.num_steps),
      d_tx=make_optimizer(config.optimizer, config.optimizer.d_lr, num_steps=config.num_steps),
      latent_dim=config.model.latent_dim, num_classes=num_classes,
      value_range=config.data.range, generator_loss=config.loss.generator,
      discriminator_loss=config.loss.discriminator, l1_weight=config.loss.l1_weight,
      r1_gamma=config.loss.r1_gamma, r1_every=config.loss.r1_every, d_steps=config.d_steps,
      ema_decay=config.ema_decay, select_skip=jax.default_backend() != "cpu",
      label_prior=label_prior, subclusters=subclusters, class_weight=config.loss.class_weight,
      mode_seeking_weight=config.loss.mode_seeking_weight)
  state = GANState(
      step=jnp.zeros((), jnp.int32), key=key,
      g_params=g_params, g_batch_stats=g_batch_stats, d_params=d_params,
      g_opt_state=spec.g_tx.init(g_params), d_opt_state=spec.d_tx.init(d_params),
      ema_params=jax.tree.map(jnp.copy, g_params) if config.ema_decay > 0 else None,
      d_sn_vectors=(regularizers.init_spectral_vectors(rng.stream_key(key, rng.SPECTRAL), d_params)
                    if config.model.d_spectral_norm else None),
      nonfinite_count=jnp.zeros((), jnp.int32))
  return state, spec


def _all_finite(tree) -> jax.Array:
  return jnp.all(jnp.array([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def _r1_term(spec: GANSpec, step: jax.Array, logits_fn, real_BxHxWxC: jax.Array) -> jax.Array:
  """gamma / 2 * R1, applied lazily every `r1_every` steps (scaled by it, so its mean is unchanged)."""
  if not spec.r1_gamma:
    return jnp.zeros((), jnp.float32)
  penalty = lambda: regularizers.r1_penalty(logits_fn, real_BxHxWxC)
  if spec.r1_every > 1:
    r1 = jax.lax.cond(step % spec.r1_every == 0, penalty, lambda: jnp.zeros((), jnp.float32))
  else:
    r1 = penalty()
  return 0.5 * spec.r1_gamma * spec.r1_every * r1


def _apply_or_skip(spec: GANSpec, finite: jax.Array, apply, skip, state: GANState) -> GANState:
  """apply(state) if `finite`, else skip(state): a lax.cond, or a select when `spec.select_skip`."""
  if spec.select_skip:
    return jax.tree.map(lambda new, old: jnp.where(finite, new, old), apply(state), skip(state))
  return jax.lax.cond(finite, apply, skip, state)


def _update_generator(spec: GANSpec, state: GANState, g_grads, g_batch_stats) -> GANState:
  """G's optimizer step, its new BatchNorm statistics and the EMA of its weights."""
  g_updates, g_opt_state = spec.g_tx.update(g_grads, state.g_opt_state, state.g_params)
  g_params = optax.apply_updates(state.g_params, g_updates)
  ema_params = state.ema_params
  if ema_params is not None:
    # Warm-up: early on the average follows the weights closely instead of the initialisation.
    decay = jnp.minimum(spec.ema_decay, (1.0 + state.step) / (10.0 + state.step))
    ema_params = optax.incremental_update(g_params, ema_params, 1.0 - decay)
  return state.replace(g_params=g_params, g_batch_stats=g_batch_stats, g_opt_state=g_opt_state,
                       ema_params=ema_params)


def _asked_labels(spec: GANSpec, labels_B: jax.Array | None) -> jax.Array | None:
  """The labels the fakes are asked for: the batch's, or with `mode_seeking_weight` its first half
  twice, so that fakes i and i + B/2 share a label."""
  if not spec.mode_seeking_weight or labels_B is None:
    return labels_B
  half = labels_B.shape[0] // 2
  return jnp.concatenate([labels_B[:half], labels_B[:half]])


def gan_update(spec: GANSpec, state: GANState, real_BxHxWxC: jax.Array, labels_B: jax.Array | None,
               z_BxZ: jax.Array) -> tuple[GANState, dict[str, jax.Array]]:
  """One step of the original: the G update first, then the D update on the same (detached) fakes.

  Both losses see D's spectrally normalised weights when that is on (one power-iteration step a
  step). With `d_steps` > 1, G is updated only at steps divisible by it (D at every step). A
  non-finite step changes no weights; `nonfinite_count` counts such steps in a row. `real_BxHxWxC`
  is in the data range; `labels_B` is None unless the GAN is conditional (`_asked_labels` for fakes).

  Returns:
    (new state, metrics): g_loss and d_loss (with any class loss; d_loss without R1), real_loss,
    fake_loss, d_real, d_fake, g_grad_norm, d_grad_norm, nonfinite (1: a skipped step), r1.
  """
  sn_vectors = (None if state.d_sn_vectors is None
                else regularizers.power_iteration(state.d_params, state.d_sn_vectors))
  asked_B = _asked_labels(spec, labels_B)

  def g_loss_fn(g_params):
    fake, batch_stats = spec.generate(g_params, state.g_batch_stats, z_BxZ, asked_B, train=True)
    fake_logits, class_loss = spec.with_class_loss(state.d_params, fake, asked_B, sn_vectors)
    loss = (losses.generator_loss(fake_logits, spec.generator_loss) + class_loss
            + losses.weighted_generator_terms(fake, real_BxHxWxC, z_BxZ, spec.l1_weight,
                                              spec.mode_seeking_weight))
    return loss, (fake, batch_stats, fake_logits)

  (g_loss, (fake, g_batch_stats, fake_logits)), g_grads = jax.value_and_grad(
      g_loss_fn, has_aux=True)(state.g_params)
  fake = jax.lax.stop_gradient(fake)

  def d_loss_fn(d_params):
    logits_fn = lambda images: spec.discriminate(d_params, images, labels_B, sn_vectors)
    real_logits, class_loss = spec.with_class_loss(d_params, real_BxHxWxC, labels_B, sn_vectors)
    d_loss, real_loss, fake_loss = losses.discriminator_loss(
        real_logits, spec.discriminate(d_params, fake, asked_B, sn_vectors),
        spec.discriminator_loss)
    r1 = _r1_term(spec, state.step, logits_fn, real_BxHxWxC)
    return d_loss + class_loss + r1, (d_loss + class_loss, real_loss, fake_loss, real_logits, r1)

  # The D gradients depend on the old D and the detached fakes only, so both updates can wait for
  # the finiteness check, and a skipped step costs no copy of the state.
  (_, (d_loss, real_loss, fake_loss, real_logits, r1)), d_grads = jax.value_and_grad(
      d_loss_fn, has_aux=True)(state.d_params)
  finite = _all_finite((g_loss, d_loss, r1, g_grads, d_grads))

  def apply_updates(state: GANState) -> GANState:
    update_g = lambda state: _update_generator(spec, state, g_grads, g_batch_stats)
    state = (jax.lax.cond(state.step % spec.d_steps == 0, update_g, lambda s: s, state)
             if spec.d_steps > 1 else update_g(state))
    d_updates, d_opt_state = spec.d_tx.update(d_grads, state.d_opt_state, state.d_params)
    return state.replace(d_params=optax.apply_updates(state.d_params, d_updates),
                         d_opt_state=d_opt_state, d_sn_vectors=sn_vectors,
                         nonfinite_count=jnp.zeros_like(state.nonfinite_count))

  skip = lambda state: state.replace(nonfinite_count=state.nonfinite_count + 1)
  new_state = _apply_or_skip(spec, finite, apply_updates, skip, state).replace(step=state.step + 1)
  metrics = dict(g_loss=g_loss, d_loss=d_loss, real_loss=real_loss, fake_loss=fake_loss, r1=r1,
                 d_real=jnp.mean(jax.nn.sigmoid(real_logits)),
                 d_fake=jnp.mean(jax.nn.sigmoid(fake_logits)), g_grad_norm=optax.tree.norm(g_grads),
                 d_grad_norm=optax.tree.norm(d_grads), nonfinite=1 - finite.astype(jnp.int32))
  return new_state, metrics


def sample_noise(spec: GANSpec, key: jax.Array, batch_size: int) -> jax.Array:
  """z_BxZ ~ N(0, I)."""
  return jax.random.normal(key, (batch_size, spec.latent_dim), jnp.float32)


def init_state_compiled(config, image_shape, num_classes: int, sharding=None,
                         abstract: bool = False, label_prior: tuple[float, ...] | None = None
                         ) -> tuple[GANState, GANSpec]:
  """`init_state` as one compiled computation (placed with `sharding`), or only its shapes (`abstract`).

  Eager initialisation compiles every small op on its own, which dominates a short run's start-up.
  """
  specs = []

  def init():
    state, spec = init_state(config, image_shape, num_classes, label_prior)
    specs.append(spec)
    return state

  if abstract:
    state = jax.eval_shape(init)
  else:
    state = jax.jit(init, out_shardings=sharding)()
  return state, specs[0]
