#!/usr/bin/env bash
# Where a decode step's time goes (issue 7): builds the CUPTI kernel tracer
# (scripts/gpu/kerneltrace), runs `grpo bench sampler` (Qwen2-0.5B shape, bf16) under it for each
# batch size, and summarizes one decode step: wall time vs kernel time (the rest is gaps between
# kernels), kernels by kind and name, one step in order (sampler_trace.py).
#   scripts/gpu/sampler_trace.sh [--batch 64] [--batch 256] [extra grpo bench sampler args]
# Writes $OUT/trace_b<batch>.{tsv.gz,txt} and the optimized HLO of the run to $OUT/hlo_b<batch>/.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/gpu/env.sh
OUT=${OUT:-/tmp/sampler_trace}
mkdir -p "$OUT"
batches=()
while [ $# -gt 0 ]; do
  case "$1" in
    --batch) batches+=("$2"); shift 2 ;;
    *) break ;;
  esac
done
[ ${#batches[@]} -gt 0 ] || batches=(64 256)
need_grpo
CUDA=${CUDA_HOME:-/usr/local/cuda}
inc=$(dirname "$(find "$CUDA/" "$CUDA/extras/CUPTI/" -name cupti.h 2>/dev/null | head -1)")
lib=$(dirname "$(find "$CUDA/" -name 'libcupti.so*' 2>/dev/null | head -1)")
krec=$(grep -ho "CUpti_ActivityKernel[0-9]*" "$inc"/cupti_activity*.h | sort -V | tail -1)
echo "CUPTI headers $inc, library $lib, kernel record $krec"
gcc -O2 -shared -fPIC -DKREC="$krec" -I"$inc" scripts/gpu/kerneltrace/kerneltrace.c -L"$lib" -Wl,-rpath,"$lib" \
  -lcupti -lpthread -o "$OUT/kerneltrace.so"
for b in "${batches[@]}"; do
  # Enough timed repeats that steps of a run finish > 1 s before exit (the tracer flushes each second).
  KERNELTRACE_OUT="$OUT/trace_b$b.tsv" CUDA_INJECTION64_PATH="$OUT/kerneltrace.so" \
    XLA_FLAGS="${XLA_FLAGS:-} --xla_dump_to=$OUT/hlo_b$b --xla_dump_hlo_as_text" \
    bin/grpo bench sampler --shape qwen2-0.5b --dtype bfloat16 --batch "$b" --prompt-len 64 \
    --new-tokens 256 --repeats 6 --json "$@" >"$OUT/bench_b$b.json"
  python3 scripts/gpu/sampler_trace.py "$OUT/trace_b$b.tsv" "b$b " | tee "$OUT/trace_b$b.txt"
  python3 -c "import json;r=json.loads(open('$OUT/bench_b$b.json').read().splitlines()[-1]);print('b$b bench (traced): %.3f ms/step' % r['step_ms'])"
  gzip -f "$OUT/trace_b$b.tsv"
  find "$OUT/hlo_b$b" -type f ! -name '*after_optimizations.txt' -delete
done
