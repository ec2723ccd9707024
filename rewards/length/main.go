// Command length is the shipped length reward, rewards/length.wasm: closeness to a target
// length (mode "target") or a penalty past a maximum (mode "max"), in characters or words.
// Settings: mode, target, max, unit, scale. Build: scripts/build-rewards.sh. Logic: lengthreward.
package main

import (
	"github.com/grpo-dev/grpo/rewards/length/lengthreward"
	"github.com/grpo-dev/grpo/sdk/go/grpowasm"
	"github.com/grpo-dev/grpo/sdk/wire"
)

var settings = lengthreward.Defaults()

func init() {
	grpowasm.Describe(wire.Describe{Name: "length", Version: "1.0.0", Kind: wire.KindReward,
		Description: "1 − |L − target|/target (mode target) or −(L − max)/max past max (mode max)"})
	grpowasm.Configure(func(raw []byte) (err error) {
		settings, err = lengthreward.ParseSettings(raw)
		return err
	})
	grpowasm.Reward(func(b wire.Batch) wire.Result { return lengthreward.Score(b, settings) })
}

func main() {}
