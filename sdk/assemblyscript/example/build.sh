#!/usr/bin/env bash
# Builds has_answer.wasm with the AssemblyScript compiler (npm install assemblyscript@0.28.20;
# the repository's scripts/setup.d/10-wasm-toolchains.sh puts it in tools/node_modules).
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-has_answer.wasm}"
asc="${ASC:-}"
if [ -z "$asc" ]; then
  for c in node_modules/.bin/asc ../../../tools/node_modules/.bin/asc; do [ -x "$c" ] && asc="$c" && break; done
fi
[ -n "$asc" ] || asc="npx asc"
$asc index.ts -O3 --runtime incremental --noAssert -o "$out"
