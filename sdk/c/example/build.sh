#!/usr/bin/env bash
# Builds has_answer.wasm (clang + lld + wasi-libc: apt install clang lld wasi-libc libclang-rt-14-dev-wasm32).
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-has_answer.wasm}"
clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -Wl,--strip-all -I.. -o "$out" has_answer.c
