"""JAX against PyTorch eager and torch.compile on the same networks, in the same run.

    python -m benchmarks.compare [--model=mlp|dcgan] [--rounds=5] [--steps=200] [--batch_size=64]
        [--width=64]

Each round runs the three benchmarks one after another, each in its own process, so a busy
machine slows all three alike; the ratios of the per-round medians are printed at the end, and the
last line is one JSON object with them.
"""

import argparse
import json
import statistics
import subprocess
import sys

CONFIGS = {"mlp": "experiments/configs/mlp_gan.py", "dcgan": "experiments/configs/dcgan.py"}


def _run(args: list[str]) -> dict:
  """Runs `python -m <args>` and returns its last output line, parsed as JSON."""
  result = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          check=False)
  if result.returncode != 0:
    raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr[-2000:]}")
  return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--model", choices=sorted(CONFIGS), default="mlp")
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--steps", type=int, default=200, help="steps per timed repeat")
  parser.add_argument("--repeats", type=int, default=3, help="timed repeats per run")
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument("--steps_per_call", type=int, default=1, help="JAX steps fused per call")
  parser.add_argument("--width", type=int, default=64, help="the DCGAN's width (both frameworks)")
  args = parser.parse_args(argv)

  size = [f"--steps={args.steps}", f"--batch_size={args.batch_size}", f"--repeats={args.repeats}"]
  jax_width = [f"--config.model.width={args.width}"] if args.model == "dcgan" else []
  torch_args = [f"--model={args.model}", f"--width={args.width}", *size]
  runs = {
      "jax": ["benchmarks.throughput", f"--config={CONFIGS[args.model]}", *jax_width,
              f"--steps_per_call={args.steps_per_call}", *size],
      "torch_eager": ["benchmarks.torch_reference", *torch_args],
      "torch_compile": ["benchmarks.torch_reference", "--compile", *torch_args],
  }
  rates = {name: [] for name in runs}
  utilization = []
  for round_ in range(args.rounds):
    for name, run_args in runs.items():
      record = _run(run_args)
      rates[name].append(record["steps_per_s"])
      if name == "jax":
        utilization.append(record["utilization"])
    print(f"round {round_ + 1}: " + ", ".join(f"{n} {r[-1]:.1f}" for n, r in rates.items())
          + " steps/s", flush=True)

  median = {name: statistics.median(r) for name, r in rates.items()}
  # Ratios per round (the three ran back to back), then their median.
  ratio = {f"jax_over_{name}": statistics.median(j / t for j, t in zip(rates["jax"], rates[name]))
           for name in ("torch_eager", "torch_compile")}
  summary = dict(model=args.model, batch_size=args.batch_size, rounds=args.rounds,
                 width=args.width if args.model == "dcgan" else None,
                 steps_per_call=args.steps_per_call,
                 **{f"{name}_steps_per_s": round(v, 2) for name, v in median.items()},
                 **{name: round(v, 2) for name, v in ratio.items()},
                 jax_utilization=round(statistics.median(utilization), 3))
  print("median steps/s: " + ", ".join(f"{n} {v:.1f}" for n, v in median.items()))
  print(f"JAX / PyTorch eager {ratio['jax_over_torch_eager']:.2f}x, "
        f"JAX / torch.compile {ratio['jax_over_torch_compile']:.2f}x (median of per-round ratios)")
  print(json.dumps(summary))


if __name__ == "__main__":
  main()
