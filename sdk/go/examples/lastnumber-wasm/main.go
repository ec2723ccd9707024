// Command lastnumber-wasm is the lastnumber example reward (see package grade) built as a WASM
// plugin: the same logic as the Go and Python process plugins, so all three score any JSONL
// identically.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o lastnumber.wasm ./sdk/go/examples/lastnumber-wasm
//	grpo reward --plugin lastnumber.wasm --data rows.jsonl
package main

import (
	"encoding/json"

	"github.com/grpo-dev/grpo/sdk/go/examples/lastnumber/grade"
	"github.com/grpo-dev/grpo/sdk/go/grpowasm"
	"github.com/grpo-dev/grpo/sdk/wire"
)

var column = grade.DefaultAnswerColumn

func init() {
	grpowasm.Describe(wire.Describe{
		Name:        "lastnumber",
		Version:     "1.0.0",
		Kind:        wire.KindReward,
		Description: "1 if the completion's last number equals the row's answer column, else 0",
	})
	grpowasm.Configure(func(raw []byte) error {
		var settings map[string]any
		if err := json.Unmarshal(raw, &settings); err != nil {
			return err
		}
		c, err := grade.Column(settings)
		if err == nil {
			column = c
		}
		return err
	})
	grpowasm.Reward(func(b wire.Batch) wire.Result { return grade.Score(b, column) })
}

func main() {} // required by Go, never called in a plugin
