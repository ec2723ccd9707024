#!/usr/bin/env bash
# Greedy parity of grpo's local sampler with transformers' generate, on the GPU machine.
# On the dev machine first:  go build -o bin/grpo ./cmd/grpo   (carry bin/ along)
# Then on the GPU machine:   scripts/gpu/sampler_parity.sh
# Prints PASS/FAIL lines (identical rows, near-ties, log-prob error) and writes
# $OUT/sampler_parity.json and $OUT/sampler_parity.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/gpu/env.sh
OUT=${OUT:-/tmp/sampler_parity}
mkdir -p "$OUT"
need_grpo
python3 scripts/gpu/sampler_parity.py --grpo bin/grpo --out "$OUT" "$@" 2>&1 | tee "$OUT/sampler_parity.log"
exit "${PIPESTATUS[0]}"
