// Command sentinel is a test plugin for plugins/wasm: a healthy Go reward whose completions can
// ask it to misbehave ("panic", "loop", "alloc", "error", "log:...", "rand"), so tests can check
// that a fault fails its batch and the next batch on the same plugin scores.
package main

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/grpo-dev/grpo/sdk/go/grpowasm"
	"github.com/grpo-dev/grpo/sdk/wire"
)

var settings struct {
	Scale float64 `json:"scale"`
}

var hoard [][]byte

func init() {
	settings.Scale = 1
	grpowasm.Describe(wire.Describe{Name: "sentinel", Version: "1", Description: "fault-injection test plugin"})
	grpowasm.Settings(&settings)
	grpowasm.Reward(func(b wire.Batch) wire.Result {
		res := wire.Result{Rewards: make([]*float64, len(b.Items)), Components: map[string][]*float64{"len": make([]*float64, len(b.Items))}}
		for i, it := range b.Items {
			c := it.Completion
			switch {
			case c == "panic":
				panic("sentinel asked to panic")
			case c == "loop":
				n := 0
				for {
					n++
				}
			case c == "alloc":
				for {
					hoard = append(hoard, make([]byte, 1<<20))
				}
			case c == "error":
				return wire.Result{Error: "sentinel asked to fail"}
			case strings.HasPrefix(c, "log:"):
				grpowasm.Log(grpowasm.LevelWarn, c[4:])
				fmt.Println("stdout:", c[4:])
			case c == "none":
				continue // no score
			case c == "rand":
				r := rand.New(rand.NewPCG(uint64(b.Seed), uint64(b.Offset+i)))
				res.Rewards[i] = wire.Float(r.Float64())
				continue
			}
			v := float64(len(c)) * settings.Scale
			res.Rewards[i] = &v
			res.Components["len"][i] = wire.Float(float64(len(c)))
		}
		return res
	})
}

func main() {}
