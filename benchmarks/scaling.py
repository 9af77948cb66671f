"""Scaling tables: steps/s and images/s against batch size, and against data-parallel devices.

    python -m benchmarks.scaling [--config=experiments/configs/mlp_gan.py] [--steps=100]
        [--batch_sizes=64,128,256,512,1024] [--devices=1,2,4,8] [--device_batch_size=512]

Each point is one `benchmarks.throughput` process. On CPU the devices are simulated with
`--num_devices`: they share the same cores, so this table shows the sharding overhead, not a speed-up.
Prints two markdown tables.
"""

import argparse
import json
import subprocess
import sys


def _throughput(config: str, steps: int, **overrides) -> dict:
  args = [sys.executable, "-m", "benchmarks.throughput", f"--config={config}", f"--steps={steps}",
          "--repeats=3", *(f"--{k}={v}" for k, v in overrides.items())]
  result = subprocess.run(args, capture_output=True, text=True, check=False)
  if result.returncode != 0:
    raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr[-2000:]}")
  return json.loads(result.stdout.strip().splitlines()[-1])


def _table(key: str, rows: list[dict]) -> str:
  lines = [f"| {key} | steps/s | images/s | utilization |", "|---:|---:|---:|---:|"]
  lines += [f"| {r[key]} | {r['steps_per_s']:.1f} | {r['images_per_s']:.0f} | {r['utilization']:.2f} |"
            for r in rows]
  return "\n".join(lines)


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default="experiments/configs/mlp_gan.py")
  parser.add_argument("--steps", type=int, default=100)
  parser.add_argument("--batch_sizes", default="64,128,256,512,1024")
  parser.add_argument("--devices", default="1,2,4,8")
  parser.add_argument("--device_batch_size", type=int, default=512,
                      help="global batch of the devices table")
  args = parser.parse_args(argv)

  by_batch = [_throughput(args.config, args.steps, batch_size=b)
              for b in map(int, args.batch_sizes.split(","))]
  print(_table("batch_size", by_batch), flush=True)
  by_devices = [_throughput(args.config, args.steps, batch_size=args.device_batch_size,
                            num_devices=n) for n in map(int, args.devices.split(","))]
  print()
  print(_table("num_devices", by_devices))
  print(f"\n{by_batch[0]['device']}; devices table at global batch {args.device_batch_size}")


if __name__ == "__main__":
  main()
