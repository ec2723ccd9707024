#!/usr/bin/env bash
# Parity of `grpo sft` (one AdamW step, gradient accumulation, completion-only loss) with a
# PyTorch reference step on the tiny transformers-made fixture. See sft_parity.py.
# On the dev machine first:  go build -o bin/grpo ./cmd/grpo   (carry bin/ along)
# Then on the GPU machine:   scripts/gpu/sft_parity.sh
# Prints PASS/FAIL lines (loss, grad_norm, update and weights relative errors, for the XLA and
# the Go backend) and writes $OUT/sft_parity.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/gpu/env.sh
OUT=${OUT:-/tmp/sft_parity}
mkdir -p "$OUT"
need_grpo
python3 scripts/gpu/sft_parity.py --grpo bin/grpo --out "$OUT" "$@" 2>&1 | tee "$OUT/sft_parity.log"
exit "${PIPESTATUS[0]}"
