#!/usr/bin/env bash
# Builds the shipped reward plugins rewards/{math,format,length}.wasm from their Go sources,
# reproducibly: a pinned Go toolchain (GOTOOLCHAIN fetches it through the Go module proxy if the
# local go differs), -trimpath, no build id, no VCS stamp, stripped. The same sources give the
# same bytes; rewards/reproducible_test.go (run by CI) rebuilds them and compares.
#
#   scripts/build-rewards.sh            # rebuild into rewards/
#   scripts/build-rewards.sh OUTDIR     # build elsewhere (what the test does)
set -euo pipefail
cd "$(dirname "$0")/.."

GO_VERSION=go1.26.8 # bump together with a rebuild of the committed .wasm files
out="${1:-rewards}"
mkdir -p "$out"

for name in math format length; do
  env GOTOOLCHAIN="$GO_VERSION" GOOS=wasip1 GOARCH=wasm GOWASM= CGO_ENABLED=0 GOFLAGS= \
    go build -buildmode=c-shared -trimpath -buildvcs=false -ldflags="-s -w -buildid=" \
    -o "$out/$name.wasm" "./rewards/$name"
  echo "$out/$name.wasm $(sha256sum "$out/$name.wasm" | cut -c1-16) $(stat -c %s "$out/$name.wasm") bytes"
done
