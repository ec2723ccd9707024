#!/usr/bin/env bash
# Regenerates the Go code of sdk/proto/grpo_plugin.proto into sdk/proto/pluginpb. The generated
# files are committed, so building grpo never needs protoc; run this after editing the .proto.
# Tools: protoc from Debian (protobuf-compiler), the Go generators pinned below from the module
# proxy. With --check, regenerates into a temp dir and fails if the committed code differs.
set -euo pipefail
cd "$(dirname "$0")/.."

PROTOC_GEN_GO=google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.11
# v1.3.0 emits code for grpc >= 1.52 (SupportPackageIsVersion7); go-plugin v1.8.0 pins grpc 1.61.
PROTOC_GEN_GO_GRPC=google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.3.0

if ! command -v protoc >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null
fi
bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
GOBIN="$bin" go install "$PROTOC_GEN_GO"
GOBIN="$bin" go install "$PROTOC_GEN_GO_GRPC"

out=sdk/proto/pluginpb
dest="$out"
if [ "${1:-}" = "--check" ]; then dest="$bin/out"; fi
mkdir -p "$dest"
PATH="$bin:$PATH" protoc -I sdk/proto \
  --go_out="$dest" --go_opt=paths=source_relative \
  --go-grpc_out="$dest" --go-grpc_opt=paths=source_relative \
  sdk/proto/grpo_plugin.proto

if [ "${1:-}" = "--check" ]; then
  diff -r "$out" "$dest" && echo "sdk/proto/pluginpb is up to date"
fi
