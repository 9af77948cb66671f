"""The PyTorch reference: the tutorial's MLP GAN and a same-shape DCGAN, their original step, a timer.

Run `python -m benchmarks.torch_reference --model=mlp|dcgan [--compile] [--steps=N] [--batch_size=64]
[--threads=N]`.
The last line printed is one JSON record of the measured throughput. Needs the `reference` extra (torch).
"""

import argparse
import json
import statistics
import time

import torch
from torch import nn

IMAGE_SHAPE = (1, 28, 28)


class MLPGenerator(nn.Module):
  """z_BxZ -> Linear+BatchNorm1d+GELU blocks -> Linear -> sigmoid, reshaped to Bx1x28x28."""

  def __init__(self, latent_dim: int = 96, hidden=(128, 256, 512, 1024), image_shape=IMAGE_SHAPE):
    super().__init__()
    self.image_shape = tuple(image_shape)
    sizes = [latent_dim, *hidden]
    self.linears = nn.ModuleList(nn.Linear(i, o) for i, o in zip(sizes[:-1], sizes[1:]))
    self.norms = nn.ModuleList(nn.BatchNorm1d(o) for o in hidden)
    self.out = nn.Linear(sizes[-1], image_shape[0] * image_shape[1] * image_shape[2])
    self.act = nn.GELU()

  def forward(self, z_BxZ):
    h = z_BxZ
    for linear, norm in zip(self.linears, self.norms):
      h = self.act(norm(linear(h)))
    return torch.sigmoid(self.out(h)).view(z_BxZ.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
  """img_Bx1x28x28 -> Linear+GELU layers 512..32 -> Linear -> sigmoid probability_Bx1."""

  def __init__(self, hidden=(512, 256, 128, 64, 32), image_shape=IMAGE_SHAPE):
    super().__init__()
    sizes = [image_shape[0] * image_shape[1] * image_shape[2], *hidden]
    self.linears = nn.ModuleList(nn.Linear(i, o) for i, o in zip(sizes[:-1], sizes[1:]))
    self.out = nn.Linear(sizes[-1], 1)
    self.act = nn.GELU()

  def forward(self, img):
    h = img.reshape(img.shape[0], -1)
    for linear in self.linears:
      h = self.act(linear(h))
    return torch.sigmoid(self.out(h))


class DCGANGenerator(nn.Module):
  """z_BxZ -> Linear to 2w x 7 x 7 + BN + ReLU -> ConvT to w x 14 x 14 + BN + ReLU -> ConvT -> tanh."""

  def __init__(self, latent_dim: int = 64, width: int = 64, channels: int = 1):
    super().__init__()
    self.width = width
    self.fc = nn.Linear(latent_dim, 7 * 7 * 2 * width, bias=False)
    self.norm0 = nn.BatchNorm1d(7 * 7 * 2 * width)
    self.up1 = nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False)
    self.norm1 = nn.BatchNorm2d(width)
    self.up2 = nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1)

  def forward(self, z_BxZ):
    h = torch.relu(self.norm0(self.fc(z_BxZ))).view(z_BxZ.shape[0], 2 * self.width, 7, 7)
    h = torch.relu(self.norm1(self.up1(h)))
    return torch.tanh(self.up2(h))


class DCGANDiscriminator(nn.Module):
  """img_BxCx28x28 -> Conv(w, stride 2) -> Conv(2w, stride 2) -> Linear -> sigmoid, LeakyReLU(0.2)."""

  def __init__(self, width: int = 64, channels: int = 1):
    super().__init__()
    self.conv1 = nn.Conv2d(channels, width, 4, stride=2, padding=1)
    self.conv2 = nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)
    self.out = nn.Linear(7 * 7 * 2 * width, 1)

  def forward(self, img):
    h = nn.functional.leaky_relu(self.conv1(img), 0.2)
    h = nn.functional.leaky_relu(self.conv2(h), 0.2)
    return torch.sigmoid(self.out(h.flatten(1)))


def dcgan_normal_init_(module: nn.Module) -> None:
  """DCGAN practice: weights N(0, 0.02), biases zero (BatchNorm keeps ones/zeros)."""
  for m in module.modules():
    if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
      nn.init.normal_(m.weight, 0.0, 0.02)
      if m.bias is not None:
        nn.init.zeros_(m.bias)


def make_models(model: str, width: int = 64):
  """(generator, discriminator, latent_dim) for "mlp" (PyTorch default init) or "dcgan" (of `width`)."""
  if model == "mlp":
    return MLPGenerator(), MLPDiscriminator(), 96
  if model == "dcgan":
    g, d = DCGANGenerator(width=width), DCGANDiscriminator(width=width)
    dcgan_normal_init_(g)
    dcgan_normal_init_(d)
    return g, d, 64
  raise ValueError(f"unknown model {model!r}; expected 'mlp' or 'dcgan'")


def make_optimizer(module: nn.Module, lr: float = 3e-4, betas=(0.4, 0.8),
                   weight_decay: float = 1e-4) -> torch.optim.Optimizer:
  """The original's optimizer: Adam with L2 weight decay added to the gradient."""
  return torch.optim.Adam(module.parameters(), lr=lr, betas=betas, weight_decay=weight_decay)


def train_step(g, d, g_opt, d_opt, real, z, l1_weight: float = 0.0) -> dict:
  """One original step: the G update first, then the D update on the same fakes, detached.

  Returns:
    Detached scalar tensors g_loss, d_loss, real_loss, fake_loss.
  """
  bce = nn.functional.binary_cross_entropy
  fake = g(z)
  fake_probs = d(fake)
  g_loss = bce(fake_probs, torch.ones_like(fake_probs))
  if l1_weight:
    g_loss = g_loss + l1_weight * torch.mean(torch.abs(fake - real))
  g_opt.zero_grad()
  g_loss.backward()
  g_opt.step()

  real_probs = d(real)
  fake_probs = d(fake.detach())
  real_loss = bce(real_probs, torch.ones_like(real_probs))
  fake_loss = bce(fake_probs, torch.zeros_like(fake_probs))
  d_loss = real_loss + fake_loss
  d_opt.zero_grad()
  d_loss.backward()
  d_opt.step()
  return dict(g_loss=g_loss.detach(), d_loss=d_loss.detach(), real_loss=real_loss.detach(),
              fake_loss=fake_loss.detach())


def benchmark(model: str, compile_: bool, steps: int, batch_size: int, repeats: int,
              warmup: int, width: int = 64) -> dict:
  """Median steps/s of the original step over `repeats` timed runs of `steps` steps each."""
  torch.manual_seed(0)
  g, d, latent_dim = make_models(model, width)
  g_opt, d_opt = make_optimizer(g), make_optimizer(d)
  if compile_:
    g, d = torch.compile(g), torch.compile(d)
    g_opt.step = torch.compile(g_opt.step)
    d_opt.step = torch.compile(d_opt.step)
  pool = 16
  real_pool = torch.rand(pool, batch_size, *IMAGE_SHAPE)
  if model == "dcgan":
    real_pool = 2.0 * real_pool - 1.0

  def run(n):
    for i in range(n):
      losses = train_step(g, d, g_opt, d_opt, real_pool[i % pool], torch.randn(batch_size, latent_dim))
    return float(losses["g_loss"])  # Reads a value back, as a logging step would.

  run(warmup)
  rates = []
  for _ in range(repeats):
    start = time.perf_counter()
    run(steps)
    rates.append(steps / (time.perf_counter() - start))
  steps_per_s = statistics.median(rates)
  return {"framework": "torch", "mode": "compile" if compile_ else "eager", "model": model,
          "batch_size": batch_size, "width": width if model == "dcgan" else None, "steps_per_s": round(steps_per_s, 2),
          "images_per_s": round(steps_per_s * batch_size, 1), "threads": torch.get_num_threads()}


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--model", choices=("mlp", "dcgan"), default="mlp")
  parser.add_argument("--compile", action="store_true", help="torch.compile the networks and optimizers")
  parser.add_argument("--steps", type=int, default=100, help="steps per timed repeat")
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--warmup", type=int, default=10)
  parser.add_argument("--width", type=int, default=64, help="the DCGAN's width")
  parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: PyTorch's default)")
  args = parser.parse_args(argv)
  torch.set_flush_denormal(True)
  if args.threads:
    torch.set_num_threads(args.threads)
  record = benchmark(args.model, args.compile, args.steps, args.batch_size, args.repeats, args.warmup,
                     args.width)
  print(json.dumps(record))


if __name__ == "__main__":
  main()
