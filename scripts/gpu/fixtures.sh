#!/usr/bin/env bash
# Makes the transformers/tokenizers fixtures that CI checks on CPU, on the GPU machine.
#   scripts/gpu/fixtures.sh   (expects .gpucarry/tokenizer-{qwen3,llama3}/ carried along)
# Output: $OUT/fixtures.tgz with core/model/testdata/* and core/tokenizer/testdata/*.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}
work=$(mktemp -d)
python3 scripts/gpu/make_model_fixtures.py "$work/core/model/testdata"
python3 scripts/gpu/make_tokenizer_fixtures.py .gpucarry "$work/core/tokenizer/testdata"
tar czf "$OUT/fixtures.tgz" -C "$work" core
ls -la "$OUT"
