#!/usr/bin/env bash
# Greedy parity of grpo's local sampler with transformers' generate, on the GPU machine.
# On the dev machine first:  go build -o bin/grpo ./cmd/grpo   (carry bin/ along)
# Then on the GPU machine:   scripts/gpu/sampler_parity.sh
# Prints PASS/FAIL lines (identical rows, near-ties, log-prob error) and writes
# $OUT/sampler_parity.json and $OUT/sampler_parity.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOMLX_BACKEND="${GOMLX_BACKEND:-xla:/opt/torch/.venv/lib/python3.12/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so}"
export GOPJRT_CUDA_CHECKS=0 GOMLX_NO_AUTO_INSTALL=1
OUT=${OUT:-/tmp/sampler_parity}
mkdir -p "$OUT"
[ -x bin/grpo ] || { echo "FAIL: bin/grpo missing: build it with 'go build -o bin/grpo ./cmd/grpo' and carry bin/" >&2; exit 1; }
python3 scripts/gpu/sampler_parity.py --grpo bin/grpo --out "$OUT" "$@" 2>&1 | tee "$OUT/sampler_parity.log"
exit "${PIPESTATUS[0]}"
