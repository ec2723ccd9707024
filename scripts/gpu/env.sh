# Sourced by the GPU scripts (after they cd to the repository root): the XLA CUDA backend through
# the PJRT plugin that ships with JAX on the GPU machine (GOMLX_BACKEND, if set, wins), without
# go-xla's CUDA checks or auto-installer (nothing can be fetched there), NVLink multicast off
# (KINDS.md), and need_grpo, which stops the script when the carried binary is missing.
export GOMLX_BACKEND="${GOMLX_BACKEND:-xla:/opt/torch/.venv/lib/python3.12/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so}"
export GOPJRT_CUDA_CHECKS=0 GOMLX_NO_AUTO_INSTALL=1 NCCL_NVLS_ENABLE=0

need_grpo() {
  [ -x bin/grpo ] || { echo "FAIL: bin/grpo missing: build it with 'go build -o bin/grpo ./cmd/grpo' and carry bin/" >&2; exit 1; }
}
