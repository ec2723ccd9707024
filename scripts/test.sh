#!/usr/bin/env bash
# Runs grpo's whole test suite on a fresh machine: installs what the tests need (each
# scripts/setup.d/*.sh is idempotent and installs one thing: WASM toolchains, python3-grpcio, the
# real Qwen tokenizer...), then go vet and go test on GoMLX's pure-Go backend.
set -euo pipefail
cd "$(dirname "$0")/.."

for s in scripts/setup.d/*.sh; do
  [ -e "$s" ] || continue
  echo "== setup: $s"
  bash "$s"
done

export GOMLX_BACKEND="${GOMLX_BACKEND:-go}"
export GOMLX_NO_AUTO_INSTALL=1
# Test data installed by setup.d must be there: a missing file fails its tests instead of skipping them.
export GRPO_REQUIRE_TESTDATA=1

echo "== go vet"
go vet ./...
echo "== go test"
go test -timeout 30m "$@" ./...
