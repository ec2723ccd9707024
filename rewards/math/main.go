// Command math is the shipped math reward, rewards/math.wasm: 1 if the completion's final
// answer equals the row's reference answer, else 0; no score for rows without a reference.
// Settings: answer_column ("answer"), solution_column ("solution"), tolerance (1e-6).
// Build: scripts/build-rewards.sh. The logic is in mathreward (also builtin:math).
package main

import (
	"github.com/grpo-dev/grpo/rewards/math/mathreward"
	"github.com/grpo-dev/grpo/sdk/go/grpowasm"
	"github.com/grpo-dev/grpo/sdk/wire"
)

var settings = mathreward.Defaults()

func init() {
	grpowasm.Describe(wire.Describe{Name: "math", Version: "1.0.0", Kind: wire.KindReward,
		Description: "final answer (last \\boxed{}, 'answer is', ####, last number) equals the row's answer column: 1, else 0"})
	grpowasm.Configure(func(raw []byte) (err error) {
		settings, err = mathreward.ParseSettings(raw)
		return err
	})
	grpowasm.Reward(func(b wire.Batch) wire.Result { return mathreward.Score(b, settings) })
}

func main() {}
