#!/usr/bin/env bash
# Builds has_answer.wasm with cargo for wasm32-wasi. On Debian 12 without network, use Debian's
# toolchain and crate packages (apt install rustc cargo libstd-rust-dev-wasm32
# librust-serde-json-dev): GRPO_RUST_OFFLINE=1 ./build.sh. Elsewhere: rustup target add
# wasm32-wasi (wasm32-wasip1 on newer Rust, set GRPO_RUST_TARGET) and plain ./build.sh.
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-has_answer.wasm}"
target="${GRPO_RUST_TARGET:-wasm32-wasi}"
args=(build --release --target "$target")
if [ "${GRPO_RUST_OFFLINE:-}" = 1 ]; then
  export RUSTC=/usr/bin/rustc CARGO=/usr/bin/cargo
  args+=(--offline --config 'source.crates-io.replace-with="debian"' --config 'source.debian.directory="/usr/share/cargo/registry"')
fi
"${CARGO:-cargo}" "${args[@]}"
cp "${CARGO_TARGET_DIR:-target}/$target/release/has_answer.wasm" "$out"
