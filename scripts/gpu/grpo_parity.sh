#!/usr/bin/env bash
# GRPO objective parity (issue 3): core/grpo on the XLA CUDA backend against PyTorch autograd on
# the TRL formulas, for B·G = 64 completions of T = 512 tokens, V = 32,000, D = 256 (the defaults
# of `grpo bench grpo-parity`; extra arguments go to it, e.g. --vocab 151936).
#
# On the Go machine:   go build -o bin/grpo ./cmd/grpo        (carry bin/ along)
# On the GPU machine:  scripts/gpu/grpo_parity.sh [path/to/grpo] [grpo-parity flags...]
#
# Prints one PASS/FAIL line per quantity (log-probs, entropy, each loss type with and without
# clipping, KL, gradients) and a final verdict; writes $OUT/grpo_parity.json and the log.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=bin/grpo
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  bin=$1
  shift
fi
if [ ! -x "$bin" ]; then
  echo "FAIL grpo binary $bin missing: build it with 'go build -o bin/grpo ./cmd/grpo' and carry bin/" >&2
  exit 1
fi
. scripts/gpu/env.sh
out="${OUT:-/tmp/grpo_parity}"
mkdir -p "$out"
dump="$(mktemp -d)"
trap 'rm -rf "$dump"' EXIT
python="${PYTHON:-python3}"
status=0
{
  echo "== $(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"
  echo "== go side: $bin bench grpo-parity (GOMLX_BACKEND=$GOMLX_BACKEND)"
  "$bin" bench grpo-parity --out "$dump" "$@"
  echo "== torch side"
  "$python" scripts/gpu/grpo_parity.py "$dump" --out "$out"
} 2>&1 | tee "$out/grpo_parity.log" || status=$?
exit "$status"
