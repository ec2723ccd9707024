#!/usr/bin/env bash
# Parity of grpo's decoder (core/model) with transformers on the GPU machine.
# On the dev machine first:  go build -o bin/grpo ./cmd/grpo   (carry bin/ along)
# Then on the GPU machine:   scripts/gpu/model_parity.sh
# Prints PASS/FAIL lines (max relative logits error, greedy tokens) and writes $OUT/model_parity.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/gpu/env.sh
OUT=${OUT:-/tmp/model_parity}
mkdir -p "$OUT"
need_grpo
python3 scripts/gpu/model_parity.py --grpo bin/grpo --out "$OUT" "$@" 2>&1 | tee "$OUT/model_parity.log"
