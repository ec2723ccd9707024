#!/usr/bin/env bash
# Regenerates the demo under configs/demo/ from nothing but this repository:
#   data/{train,test}.jsonl  seeded arithmetic problems (grpo data arith)
#   model/                   the tokenizer (grpo tokenizer train), a random Qwen2 (grpo model init)
#                            trained by grpo sft with configs/demo/sft.toml
#   expected.json            its held-out greedy accuracy and pass@8 (grpo eval, rewards/math.wasm)
# On a clean 2-core machine it takes well under 20 minutes; the times of each stage are printed.
#
#   scripts/make-demo.sh            # rewrite configs/demo/{data,model,expected.json}
#   scripts/make-demo.sh /tmp/demo  # write a fresh copy elsewhere, to compare with the shipped one
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-configs/demo}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The pure-Go GoMLX backend. ops_sequential: compute v0.1.2 can deadlock when it runs several
# matrix products at once (its worker pool), so ops run one at a time, each still spread over the
# cores. GOEXPERIMENT=simd builds its AVX2/AVX-512 matrix kernels (chosen at run time by CPU
# features, portable code otherwise): about 5x faster training on CPU.
export GOMLX_BACKEND=${GOMLX_BACKEND:-go:ops_sequential}
export GOEXPERIMENT=${GOEXPERIMENT:-simd}

stage() { printf '\n=== %s (%ds)\n' "$1" "$SECONDS"; }

stage "build"
go build -o "$work/grpo" ./cmd/grpo
grpo="$work/grpo"

# Difficulty: one-digit operands, exactly two operations ("What is 8 + 9 - 5?"): every problem
# of the space (about 1,900) is used, 1,700 for training and the 196 of the test split, which
# never shares a problem with train (the split is a hash of the arithmetic).
# The demonstrator is lazy: 60% of the training solutions of problems that start with an
# addition stop after it and box the intermediate sum. The SFT model copies the habit (its
# greedy answer stops early on those problems); GRPO, rewarded on the true answer, unlearns it.
stage "data"
mkdir -p "$out/data"
arith=(--seed 1 --min-digits 1 --max-digits 1 --min-steps 2 --max-steps 2 --style symbolic)
"$grpo" data arith "${arith[@]}" --lazy 0.6 --lazy-op + --n 1700 --split train --out "$out/data/train.jsonl"
"$grpo" data arith "${arith[@]}" --n 196 --split test --out "$out/data/test.jsonl"

stage "tokenizer"
"$grpo" tokenizer train --data "$out/data/train.jsonl" --columns prompt,solution --chat-template chatml \
  --vocab-size 512 --model-max-length 256 --out "$work/tokenizer"

stage "model init"
"$grpo" model init --config configs/demo/model.json --tokenizer "$work/tokenizer" --seed 1 --out "$work/init"

stage "sft"
"$grpo" sft configs/demo/sft.toml model_name_or_path="$work/init" dataset_id_or_path="$out/data" \
  output_dir="$work/sft"

stage "install"
rm -rf "$out/model"
mkdir -p "$out/model"
for f in config.json generation_config.json model.safetensors tokenizer.json tokenizer_config.json; do
  cp "$work/sft/$f" "$out/model/$f"
done

stage "eval"
"$grpo" eval configs/demo/sft.toml model_name_or_path="$out/model" dataset_id_or_path="$out/data" \
  --plugin rewards/math.wasm --split test --k 8 --temperature 1.0 --json >"$out/expected.json"
cat "$out/expected.json"
stage "done"
