package builtin

import (
	"github.com/grpo-dev/grpo/rewards/format/formatreward"
	"github.com/grpo-dev/grpo/rewards/length/lengthreward"
	"github.com/grpo-dev/grpo/rewards/math/mathreward"
	"github.com/grpo-dev/grpo/sdk/wire"
)

// The native twins of rewards/{math,format,length}.wasm: the same packages, compiled in.
func init() {
	RegisterReward("math", func(raw []byte) (BatchFunc, error) {
		s, err := mathreward.ParseSettings(raw)
		return func(b wire.Batch) wire.Result { return mathreward.Score(b, s) }, err
	})
	RegisterReward("format", func(raw []byte) (BatchFunc, error) {
		s, err := formatreward.ParseSettings(raw)
		return func(b wire.Batch) wire.Result { return formatreward.Score(b, s) }, err
	})
	RegisterReward("length", func(raw []byte) (BatchFunc, error) {
		s, err := lengthreward.ParseSettings(raw)
		return func(b wire.Batch) wire.Result { return lengthreward.Score(b, s) }, err
	})
}
