// Command template is a test template plugin: it renders the "question" variable as a chat
// turn, with a system prompt from its settings.
package main

import (
	"github.com/grpo-dev/grpo/sdk/go/grpowasm"
	"github.com/grpo-dev/grpo/sdk/wire"
)

var settings struct {
	System string `json:"system"`
}

func init() {
	grpowasm.Describe(wire.Describe{Name: "qa-chat", Version: "1", Kind: wire.KindTemplate})
	grpowasm.Settings(&settings)
	grpowasm.Template(func(r wire.RenderRequest) wire.RenderResult {
		q, ok := r.Vars["question"]
		if !ok {
			return wire.RenderResult{Error: `missing variable "question"`}
		}
		var msgs []wire.Message
		if settings.System != "" {
			msgs = append(msgs, wire.Message{Role: "system", Content: settings.System})
		}
		if id, ok := r.Row["id"]; ok {
			q += " (row " + jsonString(id) + ")"
		}
		return wire.RenderResult{Messages: append(msgs, wire.Message{Role: "user", Content: q})}
	})
}

func jsonString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return "?"
}

func main() {}
