// Package rewards carries the shipped reward plugins (.wasm, built reproducibly from the
// sources below by scripts/build-rewards.sh) inside the grpo binary, so that the embedded demo
// of `grpo run` can score with rewards/math.wasm from any working directory. The same sources
// are also compiled in natively as builtin:math, builtin:format and builtin:length
// (plugins/builtin).
package rewards

import "embed"

// WASM holds math.wasm, format.wasm and length.wasm.
//
//go:embed math.wasm format.wasm length.wasm
var WASM embed.FS
