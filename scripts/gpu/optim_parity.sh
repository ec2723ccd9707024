#!/usr/bin/env bash
# AdamW parity: core/optim (GoMLX graphs on the backend GOMLX_BACKEND selects, e.g. XLA CUDA)
# against torch.optim.AdamW + clip_grad_norm_ on the same data, 8 steps with gradient
# accumulation, a weight-decay mask and clipping. Prints PASS/FAIL lines; results go to
# $OUT/optim_parity/ when OUT is set.
#
# Build the Go side on a Go machine first:   go test -c -o bin/optim.test ./core/optim
# Then, on the GPU machine:                  scripts/gpu/optim_parity.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x bin/optim.test ]; then
  echo "FAIL bin/optim.test missing: build it with 'go test -c -o bin/optim.test ./core/optim'" >&2
  exit 1
fi
dir="${OUT:-$(mktemp -d)}/optim_parity"
mkdir -p "$dir"
export GOMLX_NO_AUTO_INSTALL=1
echo "== go side (GOMLX_BACKEND=${GOMLX_BACKEND:-go})"
GRPO_OPTIM_PARITY_OUT="$dir" ./bin/optim.test -test.run '^TestTorchParityDump$' -test.v -test.count=1
echo "== torch side"
python3 scripts/gpu/optim_parity.py "$dir"
