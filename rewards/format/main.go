// Command format is the shipped format reward, rewards/format.wasm: 1 if the completion has
// each configured tag exactly once as <tag>…</tag>, in order (default think, answer), else 0.
// Settings: tags, strict, partial. Build: scripts/build-rewards.sh. Logic: formatreward.
package main

import (
	"github.com/grpo-dev/grpo/rewards/format/formatreward"
	"github.com/grpo-dev/grpo/sdk/go/grpowasm"
	"github.com/grpo-dev/grpo/sdk/wire"
)

var settings = formatreward.Defaults()

func init() {
	grpowasm.Describe(wire.Describe{Name: "format", Version: "1.0.0", Kind: wire.KindReward,
		Description: "required tags present once each and in order (default <think>, <answer>): 1, else 0"})
	grpowasm.Configure(func(raw []byte) (err error) {
		settings, err = formatreward.ParseSettings(raw)
		return err
	})
	grpowasm.Reward(func(b wire.Batch) wire.Result { return formatreward.Score(b, settings) })
}

func main() {}
