// Command example is has-answer, the Go SDK example reward: 1 if the completion contains the
// row's "answer" column (a string), 0 if not, no score if the row has no string answer. The C,
// Rust and AssemblyScript examples compute exactly the same.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o has_answer.wasm .
package main

import (
	"strings"

	"github.com/grpo-dev/grpo/sdk/go/grpowasm"
	"github.com/grpo-dev/grpo/sdk/wire"
)

func init() {
	grpowasm.Describe(wire.Describe{Name: "has-answer", Version: "1.0.0",
		Description: "1 if the completion contains the answer column, else 0"})
	grpowasm.RewardItems(func(it wire.Item) (*float64, error) {
		ans, ok := it.Metadata["answer"].(string)
		if !ok {
			return nil, nil // no score
		}
		if strings.Contains(it.Completion, ans) {
			return wire.Float(1), nil
		}
		return wire.Float(0), nil
	})
}

func main() {}
