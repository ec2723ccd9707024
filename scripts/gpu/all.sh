#!/usr/bin/env bash
# Runs several GPU checks in one device session and packs their outputs into $OUT/results.tgz
# (the device tool brings back only a few files).
#   scripts/gpu/all.sh model_parity sampler_parity sampler_bench optim_parity grpo_parity ...
# Each NAME runs scripts/gpu/NAME.sh with OUT=/tmp/gpu-results/NAME, limited to CHECK_TIMEOUT
# seconds (default 300). Build first, here:
#   go build -o bin/grpo ./cmd/grpo && go test -c -o bin/optim.test ./core/optim   (carry bin/)
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/gpu/env.sh
final=${OUT:-/tmp/out}
res=/tmp/gpu-results
mkdir -p "$res" "$final"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$res/card.txt"
date -u +%FT%TZ >>"$res/card.txt"
status=0
for name in "$@"; do
  echo "=================== $name"
  start=$(date +%s)
  mkdir -p "$res/$name"
  backend=$GOMLX_BACKEND
  # Parity checks compare float32 with PyTorch, whose CUDA matmuls are full float32 by default
  # (torch.backends.cuda.matmul.allow_tf32 = False); XLA's default uses TF32 (~1e-3 relative).
  case "$name" in *parity*) [[ $backend == xla:* && $backend != *tf32=* ]] && backend="$backend,tf32=false" ;; esac
  GOMLX_BACKEND="$backend" OUT="$res/$name" timeout "${CHECK_TIMEOUT:-300}" bash "scripts/gpu/$name.sh" >"$res/$name/stdout.log" 2>&1
  rc=$?
  [ $rc -eq 0 ] || status=1
  grep -E "PASS|FAIL|\|" "$res/$name/stdout.log" | tail -40
  echo "--- $name: rc=$rc in $(( $(date +%s) - start ))s"
  tar czf "$final/results.tgz" -C "$res" .  # after each check, so a time-out keeps what ran
done
exit $status
