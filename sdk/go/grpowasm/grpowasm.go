// Package grpowasm writes grpo reward and template plugins in Go, compiled to WebAssembly
// (grpo-wasm ABI v1, sdk/ABI.md). The plugin author writes one function and registers it from
// an init function; this package provides the ABI exports (grpo_abi_version, grpo_alloc,
// grpo_free, grpo_reward, grpo_render, grpo_describe, grpo_configure), the memory handling and
// the JSON.
//
//	package main
//
//	import (
//		"strings"
//
//		"github.com/grpo-dev/grpo/sdk/go/grpowasm"
//		"github.com/grpo-dev/grpo/sdk/wire"
//	)
//
//	func init() {
//		grpowasm.Describe(wire.Describe{Name: "has-answer", Version: "1.0.0"})
//		grpowasm.RewardItems(func(it wire.Item) (*float64, error) {
//			ans, ok := it.Metadata["answer"].(string)
//			if !ok {
//				return nil, nil // no score
//			}
//			if strings.Contains(it.Completion, ans) {
//				return wire.Float(1), nil
//			}
//			return wire.Float(0), nil
//		})
//	}
//
//	func main() {} // required by Go, never called in a plugin
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o reward.wasm .
//
// The handlers below also build natively, so a plugin's logic can be unit-tested with go test.
package grpowasm

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/grpo-dev/grpo/sdk/wire"
)

// BatchFunc scores a whole batch: one reward (or nil = no score) per item, or an Error.
type BatchFunc func(wire.Batch) wire.Result

// ItemFunc scores one item: a reward, nil for "no score", or an error that fails the batch.
type ItemFunc func(wire.Item) (*float64, error)

// RenderFunc renders a template plugin's prompt.
type RenderFunc func(wire.RenderRequest) wire.RenderResult

var plugin struct {
	reward    BatchFunc
	render    RenderFunc
	configure func(settings []byte) error
	describe  wire.Describe
}

// Reward registers the plugin's batch reward function.
func Reward(f BatchFunc) { plugin.reward = f }

// RewardItems registers a per-item reward function. An error from any item fails the whole
// batch with a message naming the item.
func RewardItems(f ItemFunc) {
	plugin.reward = func(b wire.Batch) wire.Result {
		res := wire.Result{Rewards: make([]*float64, len(b.Items))}
		for i, it := range b.Items {
			v, err := f(it)
			if err != nil {
				return wire.Result{Error: fmt.Sprintf("item %d: %v", b.Offset+i, err)}
			}
			res.Rewards[i] = v
		}
		return res
	}
}

// Template registers the plugin's render function (a template plugin).
func Template(f RenderFunc) { plugin.render = f }

// Describe sets what grpo_describe reports. Kind defaults to "reward", or "template" when only
// Template was registered.
func Describe(d wire.Describe) { plugin.describe = d }

// Configure registers a function that receives the plugin's settings (the [[rewards]] settings
// table, as JSON) once per instance, before any batch. Returning an error refuses the settings.
func Configure(f func(settings []byte) error) { plugin.configure = f }

// Settings registers a struct (pointer) that the settings are decoded into; keys that it has
// no field for are refused, so a misspelled setting is an error, not silently ignored.
func Settings(v any) {
	plugin.configure = func(raw []byte) error { return DecodeSettings(raw, v) }
}

// DecodeSettings decodes a plugin's settings (JSON) into v, which holds the defaults: absent
// keys keep them, empty settings change nothing, and a key v has no field for is an error.
func DecodeSettings(raw []byte, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	return nil
}

// HandleReward is grpo_reward's logic: batch JSON in, result JSON out.
func HandleReward(in []byte) []byte {
	if plugin.reward == nil {
		return errorJSON("this plugin has no reward function (it is a template plugin)")
	}
	var b wire.Batch
	if err := json.Unmarshal(in, &b); err != nil {
		return errorJSON("bad batch JSON: " + err.Error())
	}
	if b.ABI != wire.ABIVersion {
		return errorJSON(fmt.Sprintf("batch has ABI version %d, this plugin speaks %d", b.ABI, wire.ABIVersion))
	}
	return marshal(plugin.reward(b))
}

// HandleRender is grpo_render's logic: render request JSON in, render result JSON out.
func HandleRender(in []byte) []byte {
	if plugin.render == nil {
		return errorJSON("this plugin has no render function (it is a reward plugin)")
	}
	var r wire.RenderRequest
	if err := json.Unmarshal(in, &r); err != nil {
		return errorJSON("bad render request JSON: " + err.Error())
	}
	return marshal(plugin.render(r))
}

// HandleConfigure is grpo_configure's logic: settings JSON in; empty output (accepted) or
// {"error": ...}.
func HandleConfigure(in []byte) []byte {
	if plugin.configure == nil {
		return errorJSON("this plugin takes no settings")
	}
	if err := plugin.configure(in); err != nil {
		return errorJSON(err.Error())
	}
	return nil
}

// HandleDescribe is grpo_describe's logic.
func HandleDescribe() []byte {
	d := plugin.describe
	if d.Kind == "" {
		d.Kind = wire.KindReward
		if plugin.render != nil && plugin.reward == nil {
			d.Kind = wire.KindTemplate
		}
	}
	return marshal(d)
}

func marshal(v any) []byte {
	b, err := wire.Marshal(v)
	if err != nil {
		return errorJSON("cannot encode the result as JSON: " + err.Error())
	}
	return b
}

func errorJSON(msg string) []byte {
	b, _ := json.Marshal(wire.Result{Error: msg})
	return b
}

// Level is a log level for Log.
type Level int32

const (
	LevelDebug Level = -1
	LevelInfo  Level = 0
	LevelWarn  Level = 1
	LevelError Level = 2
)

// Log writes one line to the trainer's log (through grpo_host.log); the host caps how much a
// call may log.
func Log(level Level, msg string) { hostLog(level, msg) }
