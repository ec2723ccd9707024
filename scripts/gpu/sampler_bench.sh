#!/usr/bin/env bash
# Decode throughput of grpo's local sampler vs transformers' generate on one GPU (issue 7):
# Qwen2-0.5B-shaped random model, bf16, batch 64 and 256, 64 prompt + 256 new tokens, plus the
# fraction of the bandwidth roofline (the card's copy bandwidth is measured in PyTorch).
# grpo runs once per variant (device loop with XLA defaults = grpo's default, device loop as one
# CUDA graph, host loop, command buffers off, sampling processors), in that order, within a time
# budget of 235 s for the whole script (--budget N to change it; --variants a,b to pick); per
# variant it prints ms/step split into device calls / scalar reads / host work, prefill and
# compile times. The first variant's optimized HLO goes to $OUT/xla_dump (--no-xla-dump: off).
# On the dev machine first:  go build -o bin/grpo ./cmd/grpo   (carry bin/ along)
# Then on the GPU machine:   scripts/gpu/sampler_bench.sh [--budget 400] [--variants device,host]
#                            [--xla-flags="--xla_gpu_graph_min_graph_size=1"]  (an extra device-loop variant)
# Prints PASS/FAIL lines for the targets (on the default variant) and a Markdown table for
# BENCHMARKS.md; writes $OUT/sampler_bench.{md,json,log}.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/gpu/env.sh
OUT=${OUT:-/tmp/sampler_bench}
mkdir -p "$OUT"
need_grpo
python3 scripts/gpu/sampler_bench.py --grpo bin/grpo --out "$OUT" "$@" 2>&1 | tee "$OUT/sampler_bench.log"
exit "${PIPESTATUS[0]}"
