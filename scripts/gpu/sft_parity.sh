#!/usr/bin/env bash
# Parity of `grpo sft` (one AdamW step, gradient accumulation, completion-only loss) with a
# PyTorch reference step on the tiny transformers-made fixture. See sft_parity.py.
# On the dev machine first:  go build -o bin/grpo ./cmd/grpo   (carry bin/ along)
# Then on the GPU machine:   scripts/gpu/sft_parity.sh
# Prints PASS/FAIL lines (loss, grad_norm, update and weights relative errors, for the XLA and
# the Go backend) and writes $OUT/sft_parity.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOMLX_BACKEND="${GOMLX_BACKEND:-xla:/opt/torch/.venv/lib/python3.12/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so}"
export GOPJRT_CUDA_CHECKS=0 GOMLX_NO_AUTO_INSTALL=1
OUT=${OUT:-/tmp/sft_parity}
mkdir -p "$OUT"
[ -x bin/grpo ] || { echo "FAIL: bin/grpo missing: build it with 'go build -o bin/grpo ./cmd/grpo' and carry bin/" >&2; exit 1; }
python3 scripts/gpu/sft_parity.py --grpo bin/grpo --out "$OUT" "$@" 2>&1 | tee "$OUT/sft_parity.log"
exit "${PIPESTATUS[0]}"
