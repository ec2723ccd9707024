#!/usr/bin/env bash
# Installs the toolchains that build grpo's WASM plugins (rewards/, sdk/ examples, the fault
# plugins of plugins/wasm's tests): clang + lld + wasi-libc (C), Debian's rustc 1.63 with the
# wasm32 standard library (Rust; invoked as /usr/bin/rustc because a rustup rustc may come first
# on PATH), wabt (wat2wasm for the hand-written fault modules) and AssemblyScript from npm,
# pinned, into tools/node_modules (ignored by git). Idempotent: checks before installing.
set -euo pipefail
cd "$(dirname "$0")/../.."

ASC_VERSION=0.28.20     # AssemblyScript compiler, pinned: rebuilt .wasm files must match byte for byte
AS_PDK_VERSION=1.0.0    # Extism's AssemblyScript PDK, for the Extism adapter's test plugin

apt_pkgs=(clang lld wasi-libc libclang-rt-14-dev-wasm32 rustc libstd-rust-dev-wasm32 cargo librust-serde-json-dev wabt)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing apt packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm: Debian's nodejs+npm unless a node with npm is already there (e.g. NodeSource's nodejs,
# which conflicts with Debian's npm package).
if ! command -v npm >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

npm_version() { grep -o '"version": *"[^"]*"' "tools/node_modules/$1/package.json" 2>/dev/null | grep -o '[0-9][^"]*'; }
if [ "$(npm_version assemblyscript)" != "$ASC_VERSION" ] || [ "$(npm_version @extism/as-pdk)" != "$AS_PDK_VERSION" ]; then
  echo "installing assemblyscript@$ASC_VERSION @extism/as-pdk@$AS_PDK_VERSION into tools/node_modules"
  mkdir -p tools
  npm install --silent --no-audit --no-fund --prefix tools "assemblyscript@$ASC_VERSION" "@extism/as-pdk@$AS_PDK_VERSION" >/dev/null
fi

# Fail loudly here rather than later in a test.
/usr/bin/rustc --version >/dev/null
test -e /usr/lib/rustlib/wasm32-wasi/lib || { echo "libstd-rust-dev-wasm32 did not install the wasm32-wasi std" >&2; exit 1; }
clang --version >/dev/null
test -x tools/node_modules/.bin/asc
