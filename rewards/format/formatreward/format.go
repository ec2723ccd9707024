// Package formatreward scores whether a completion follows a tag format such as
// "<think>…</think><answer>…</answer>" (the format reward of DeepSeek-R1-style GRPO recipes,
// e.g. TRL's examples' format_reward). It is the logic of rewards/format.wasm and builtin:format.
package formatreward

import (
	"fmt"
	"strings"

	"github.com/grpo-dev/grpo/sdk/wire"
)

// Settings configure the format.
type Settings struct {
	// Tags that must each appear exactly once as <tag>…</tag>, in this order, not nested.
	// Default ["think", "answer"].
	Tags []string `json:"tags"`
	// Strict also requires that nothing but whitespace lies outside the tags. Default false.
	Strict bool `json:"strict"`
	// Partial gives a malformed completion the fraction of tags it has as a well-formed,
	// unique pair (0..1) instead of 0. Default false.
	Partial bool `json:"partial"`
}

// Defaults returns the default settings.
func Defaults() Settings { return Settings{Tags: []string{"think", "answer"}} }

// Validate checks the settings.
func (s Settings) Validate() error {
	if len(s.Tags) == 0 {
		return fmt.Errorf("settings: tags must list at least one tag")
	}
	for _, t := range s.Tags {
		if t == "" || strings.ContainsAny(t, "<>/ \t\n") {
			return fmt.Errorf("settings: tag %q must be a bare name such as \"answer\"", t)
		}
	}
	return nil
}

// Score returns 1 for a well-formed completion, else 0 (or the partial credit).
func Score(b wire.Batch, s Settings) wire.Result {
	res := wire.Result{Rewards: make([]*float64, len(b.Items))}
	for i, it := range b.Items {
		v := Grade(it.Completion, s)
		res.Rewards[i] = &v
	}
	return res
}

// Grade scores one completion.
func Grade(text string, s Settings) float64 {
	good, ordered, prevEnd := 0, true, 0
	var outside strings.Builder
	for _, tag := range s.Tags {
		open, close := "<"+tag+">", "</"+tag+">"
		o, c := strings.Index(text, open), strings.Index(text, close)
		unique := strings.Count(text, open) == 1 && strings.Count(text, close) == 1
		if !unique || o < 0 || c < o {
			ordered = false
			continue
		}
		good++
		if o < prevEnd {
			ordered = false // before (or inside) the previous tag
		} else {
			outside.WriteString(text[prevEnd:o])
		}
		prevEnd = c + len(close)
	}
	if ordered && good == len(s.Tags) {
		outside.WriteString(text[prevEnd:])
		if !s.Strict || strings.TrimSpace(outside.String()) == "" {
			return 1
		}
	}
	if s.Partial {
		return float64(good) / float64(len(s.Tags)) * 0.5
	}
	return 0
}
