#!/usr/bin/env bash
# Installs what Python process plugins (sdk/python/grpo_plugin.py) need from Debian: grpcio (which
# pulls python3-protobuf) and cryptography (for go-plugin's AutoMTLS certificate). These go into
# Debian's /usr/bin/python3, which is what the module's launchers use; a pyenv python3 earlier on
# PATH does not see them. Idempotent: installs only what is missing.
set -euo pipefail

pkgs=()
for p in python3-grpcio python3-cryptography; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || pkgs+=("$p")
done
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi
/usr/bin/python3 -c 'import grpc, cryptography' || { echo "python3-grpcio/python3-cryptography not importable by /usr/bin/python3" >&2; exit 1; }
