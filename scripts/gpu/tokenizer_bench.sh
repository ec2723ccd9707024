#!/usr/bin/env bash
# Compares grpo's tokenizer with Hugging Face tokenizers on the same ~1 MB of prompt-like text:
# speed (encode MB/s, one thread each, plus HF's multi-threaded encode_batch for reference)
# and the ids of every document. CPU work; it runs on the GPU machine because HF tokenizers is
# installed there. Prints PASS/FAIL lines; results go to $OUT.
#   here:  go test -c -o bin/tokenizer.test ./core/tokenizer
#   there: scripts/gpu/tokenizer_bench.sh   (with bin/ and .gpucarry/tokenizer-{qwen3,llama3}/ carried)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
[ -x bin/tokenizer.test ] || { echo "FAIL: bin/tokenizer.test missing (go test -c -o bin/tokenizer.test ./core/tokenizer)"; exit 1; }
status=0
for name in qwen3 llama3; do
  GRPO_TESTDATA_DIR=.gpucarry GRPO_REQUIRE_TESTDATA=1 GRPO_BENCH_CORPUS_DIR="$OUT" \
    bin/tokenizer.test -test.run '^$' -test.bench "^BenchmarkEncode/$name\$" -test.benchtime 20x \
    | tee "$OUT/go_bench_$name.txt"
  python3 scripts/gpu/tokenizer_bench.py ".gpucarry/tokenizer-$name/tokenizer.json" \
    "$OUT/corpus_$name.jsonl" "$OUT/go_bench_$name.txt" "$name" | tee -a "$OUT/tokenizer_bench.txt" || status=1
done
exit $status
