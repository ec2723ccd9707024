// Package wire holds the JSON messages that cross every plugin boundary of grpo: the batch a
// reward plugin scores, its result, a template render request and a plugin's self-description.
//
// Both plugin kinds speak these shapes: WASM guests (grpo-wasm ABI v1, see sdk/ABI.md) receive
// them as bytes in linear memory, and go-plugin process plugins receive the same bytes over gRPC.
// One message shape for both kinds means a reward can move from WASM to a process (or back)
// without changing its logic.
//
// This package is imported by guest SDKs compiled to WASM, so it must stay small and depend on
// nothing but the standard library.
package wire

import (
	"bytes"
	"encoding/json"
)

// ABIVersion is the version of the grpo plugin ABI these messages belong to. Hosts refuse a
// plugin reporting any other version; v1 is never broken, a change gets a new version.
const ABIVersion = 1

// Plugin kinds reported by Describe.Kind.
const (
	KindReward   = "reward"
	KindTemplate = "template"
)

// Item is one (prompt, completion) pair to score.
type Item struct {
	Prompt     string `json:"prompt"`
	Completion string `json:"completion"`
	// Metadata holds every other column of the dataset row the prompt came from (for example
	// "answer" or "solution"), so a reward can grade against it.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// Batch is the input of one reward call: a whole batch, so the per-call cost of crossing the
// plugin boundary is paid once per batch, not once per item.
type Batch struct {
	ABI int `json:"abi"`
	// Seed makes stochastic rewards reproducible: the same batch and seed must give the same
	// rewards.
	Seed int64 `json:"seed"`
	// Offset is the index of Items[0] in the caller's whole batch: a host may split a large
	// batch into several calls (in parallel), always at the same item boundaries. A reward that
	// draws random numbers per item should derive them from (Seed, Offset+i), so that its
	// results do not depend on how the batch was split.
	Offset int    `json:"offset,omitempty"`
	Items  []Item `json:"items"`
}

// Result is the output of one reward call. Exactly one of Rewards or Error is meaningful.
type Result struct {
	// Rewards has one entry per input item; nil (JSON null) means "no score" for that item,
	// which the trainer excludes from its group's statistics instead of counting it as 0.
	Rewards []*float64 `json:"rewards,omitempty"`
	// Components optionally breaks the reward into named parts, for logging only.
	Components map[string][]*float64 `json:"components,omitempty"`
	// Info optionally carries one free-form object per item, for logging only.
	Info []map[string]any `json:"info,omitempty"`
	// Error, when non-empty, reports that the plugin could not score the batch.
	Error string `json:"error,omitempty"`
}

// Describe is what a plugin says about itself (optional export grpo_describe / Describe RPC).
type Describe struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	Kind        string `json:"kind"`
	Description string `json:"description,omitempty"`
	// Capabilities lists optional features the plugin implements, e.g. CapSyncWeights for a
	// generation backend.
	Capabilities []string `json:"capabilities,omitempty"`
}

// RenderRequest is the input of a template plugin: named variables such as "question",
// "approach" or "teaching", plus the dataset row the prompt is built for.
type RenderRequest struct {
	ABI  int               `json:"abi"`
	Vars map[string]string `json:"vars"`
	Row  map[string]any    `json:"row,omitempty"`
}

// RenderResult is the output of a template plugin: either a plain prompt text or chat
// messages (which the trainer renders with the tokenizer's chat template), or an error.
type RenderResult struct {
	Prompt   string    `json:"prompt,omitempty"`
	Messages []Message `json:"messages,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Float returns a pointer to v, for building Result.Rewards.
func Float(v float64) *float64 { return &v }

// Marshal encodes a message as JSON without HTML escaping: completions are full of "<think>"
// style tags, which encoding/json's default would turn into six-byte \u003c escapes.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
