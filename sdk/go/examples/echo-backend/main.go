// Command echo-backend is an example generation backend written as a Go process plugin: it proves
// that `--backend ./echo-backend` swaps grpo's generator without recompiling grpo. It is
// deterministic and needs no model:
//
//   - tokens are the prompt's ids, or the bytes of its text (so "ids" are byte values 0–255);
//   - a prompt longer than max_prompt_tokens keeps its last max_prompt_tokens tokens;
//   - completion j of a prompt is its tokens rotated left by j (so the n completions of a prompt
//     differ, as GRPO needs), cut to max_tokens (finish_reason "length") or complete ("stop");
//   - logprobs are 0 (each token had probability 1);
//   - text is the tokens as bytes when the prompt was text, else the ids in decimal.
//
// It accepts weight updates (capability "sync_weights"): it checks that the directory holds a
// Hugging Face config.json and logs the step, which is what a real backend would load.
//
//	go build -o echo-backend ./sdk/go/examples/echo-backend
//	grpo plugin inspect ./echo-backend
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/grpo-dev/grpo/sdk/go/grpoproc"
	"github.com/grpo-dev/grpo/sdk/wire"
)

func main() {
	grpoproc.ServeGenerator(generate,
		grpoproc.WithDescribe(wire.Describe{
			Name:        "echo-backend",
			Version:     "1.0.0",
			Description: "deterministic echo generator (example backend; no model)",
		}),
		grpoproc.WithSyncWeights(syncWeights),
	)
}

func generate(_ context.Context, r wire.GenerateRequest) (wire.GenerateResult, error) {
	if r.N < 1 {
		return wire.GenerateResult{}, fmt.Errorf("n must be at least 1, got %d", r.N)
	}
	res := wire.GenerateResult{Completions: make([]wire.Completion, 0, len(r.Prompts)*r.N)}
	for i, p := range r.Prompts {
		prompt, isText := tokens(p)
		if k := r.MaxPromptTokens; k > 0 && len(prompt) > k {
			prompt = prompt[len(prompt)-k:]
		}
		for j := 0; j < r.N; j++ {
			out := rotate(prompt, j)
			finish := "stop"
			if m := r.Sampling.MaxTokens; m > 0 && len(out) > m {
				out, finish = out[:m], "length"
			}
			res.Completions = append(res.Completions, wire.Completion{
				Prompt: i, PromptIDs: prompt, IDs: out, Text: decode(out, isText),
				FinishReason: finish, LogProbs: make([]float32, len(out)),
			})
		}
	}
	return res, nil
}

func tokens(p wire.Prompt) ([]int32, bool) {
	if len(p.IDs) > 0 {
		return p.IDs, false
	}
	ids := make([]int32, len(p.Text))
	for i := 0; i < len(p.Text); i++ {
		ids[i] = int32(p.Text[i])
	}
	return ids, true
}

func rotate(ids []int32, j int) []int32 {
	out := make([]int32, len(ids))
	for k := range ids {
		out[k] = ids[(k+j)%len(ids)]
	}
	return out
}

func decode(ids []int32, isText bool) string {
	if isText {
		b := make([]byte, len(ids))
		for i, id := range ids {
			b[i] = byte(id)
		}
		return string(b)
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, " ")
}

func syncWeights(_ context.Context, r wire.SyncWeightsRequest) error {
	b, err := os.ReadFile(filepath.Join(r.Dir, "config.json"))
	if err != nil {
		return fmt.Errorf("no Hugging Face config.json in the weights directory: %w", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("%s/config.json: %w", r.Dir, err)
	}
	grpoproc.Log().Info("weights synced", "step", r.Step, "model_type", cfg["model_type"])
	return nil
}
