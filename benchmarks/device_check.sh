#!/usr/bin/env bash
# Accelerator check, under 5 minutes on one GPU with no internet and no TensorFlow:
#   1. throughput of the seed MLP and the DCGAN (float32 and bfloat16; one step per call and fused;
#      resident and streamed input);
#   2. one epoch of the seed configuration end to end, from the numpy-only `idx` data source.
#
#   JAXGAN_MNIST_IDX_DIR=/path/to/mnist bash benchmarks/device_check.sh [OUTPUT_DIR]
#
# Writes OUTPUT_DIR/throughput.jsonl (one benchmark record a line) and OUTPUT_DIR/seed_epoch/.
set -euo pipefail
cd "$(dirname "$0")/.."
idx_dir="${JAXGAN_MNIST_IDX_DIR:?set JAXGAN_MNIST_IDX_DIR to the folder of the four MNIST IDX .gz files}"
out="${1:-${TMPDIR:-/tmp}/jaxgan_device_check}"
mkdir -p "$out"
: > "$out/throughput.jsonl"
python -c 'import jax; print("devices:", jax.devices())'

bench() {  # bench CONFIG [FLAGS...]: one throughput record appended to throughput.jsonl
  local config=$1; shift
  timeout 120 python -m benchmarks.throughput --config="experiments/configs/$config.py" \
      --steps=400 --repeats=3 --peak_size=8192 "$@" | tail -n 1 | tee -a "$out/throughput.jsonl"
}
for dtype in float32 bfloat16; do
  bench mlp_gan --dtype=$dtype --steps_per_call=1
  bench mlp_gan --dtype=$dtype --steps_per_call=100 --steps=800
  bench dcgan --config.model.width=64 --dtype=$dtype --batch_size=1024 --steps_per_call=1 --steps=200
  bench dcgan --config.model.width=64 --dtype=$dtype --batch_size=1024 --steps_per_call=20 --steps=200
done
# Streamed against resident input (host-fed batches through grain), on the IDX arrays.
timeout 120 python -m benchmarks.streaming --config=experiments/configs/dcgan.py \
    --config.data.source=idx --config.data.idx_dir="$idx_dir" --steps=200 | tail -n 1 \
    | tee -a "$out/throughput.jsonl"

start=$(date +%s)
timeout 180 python -m experiments.mnist_gan --config=experiments/configs/mlp_gan.py \
    --workdir="$out/seed_epoch" --config.num_epochs=1 --config.data.source=idx \
    --config.data.idx_dir="$idx_dir"
echo "seed epoch end to end (start-up, compile, 937 steps, samples, evaluation): $(( $(date +%s) - start )) s"
grep epoch_seconds "$out/seed_epoch/metrics.jsonl" || true
