#!/usr/bin/env bash
# Parity of grpo's decoder (core/model) with transformers on the GPU machine.
# On the dev machine first:  go build -o bin/grpo ./cmd/grpo   (carry bin/ along)
# Then on the GPU machine:   scripts/gpu/model_parity.sh
# Prints PASS/FAIL lines (max relative logits error, greedy tokens) and writes $OUT/model_parity.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOMLX_BACKEND="${GOMLX_BACKEND:-xla:/opt/torch/.venv/lib/python3.12/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so}"
export GOPJRT_CUDA_CHECKS=0 GOMLX_NO_AUTO_INSTALL=1
OUT=${OUT:-/tmp/model_parity}
mkdir -p "$OUT"
[ -x bin/grpo ] || { echo "FAIL: bin/grpo missing: build it with 'go build -o bin/grpo ./cmd/grpo' and carry bin/" >&2; exit 1; }
python3 scripts/gpu/model_parity.py --grpo bin/grpo --out "$OUT" "$@" 2>&1 | tee "$OUT/model_parity.log"
