// Command faultreward is a test reward plugin for `grpo run`: it scores each completion by its
// length in characters, and its fail_call-th call (counted per WASM instance) fails the way
// settings.fault says: "trap" (a Go panic, a WebAssembly trap) or "loop" (never returns, so the
// host's plugin_timeout must end it). A failed instance is replaced by the host, whose counter
// starts again, so the plugin fails every fail_call calls.
package main

import (
	"github.com/grpo-dev/grpo/sdk/go/grpowasm"
	"github.com/grpo-dev/grpo/sdk/wire"
)

var settings struct {
	Fault    string `json:"fault"`
	FailCall int    `json:"fail_call"`
}

var calls int

func init() {
	settings.Fault, settings.FailCall = "trap", 2
	grpowasm.Describe(wire.Describe{Name: "faultreward", Version: "1", Description: "length reward that fails on a chosen call"})
	grpowasm.Settings(&settings)
	grpowasm.Reward(func(b wire.Batch) wire.Result {
		calls++
		if calls == settings.FailCall {
			switch settings.Fault {
			case "trap":
				panic("faultreward: scripted trap")
			case "loop":
				n := 0
				for {
					n++
				}
			}
		}
		res := wire.Result{Rewards: make([]*float64, len(b.Items))}
		for i, it := range b.Items {
			res.Rewards[i] = wire.Float(float64(len(it.Completion)) / 32)
		}
		return res
	})
}

func main() {}
