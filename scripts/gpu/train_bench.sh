#!/usr/bin/env bash
# GRPO step time of `grpo run` on the XLA CUDA backend (random Qwen2-0.5B-shaped model, bf16,
# 64 completions per step = 8 prompts × G 8, prompts of 256 tokens, completions up to 512,
# 20 steps) with its split (generation / scoring / log-probs / update / sync / AdamW), and a
# hand-written PyTorch GRPO step of the same geometry as the peer (issue 9).
# On the dev machine first:  go build -o bin/grpo ./cmd/grpo   (carry bin/ along)
# Then on the GPU machine:   scripts/gpu/train_bench.sh        (about 10 minutes)
# Prints PASS/FAIL and a Markdown row for BENCHMARKS.md; writes $OUT/train_bench.{md,json,log}.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/gpu/env.sh
OUT=${OUT:-/tmp/train_bench}
mkdir -p "$OUT"
need_grpo
python3 scripts/gpu/train_bench.py --grpo bin/grpo --out "$OUT" "$@" 2>&1 | tee "$OUT/train_bench.log"
exit "${PIPESTATUS[0]}"
