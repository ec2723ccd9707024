package local

import (
	"math"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/grpo-dev/grpo/core/generate"
)

func greedyRequest(prompts [][]int32, maxTokens int) generate.Request {
	return generate.Request{Prompts: idPrompts(prompts...), N: 1,
		Sampling: generate.Sampling{Temperature: 0, TopP: 1, RepetitionPenalty: 1, MaxTokens: maxTokens}}
}

// TestGreedyMatchesFullForward: greedy continuations of a padded batch (prompts of 3 to 21
// tokens, so several rows are left-padded in a 32-token bucket) through the cached decode, with
// segments shorter than the completion (the cache grows twice), equal
// greedy decoding by repeated full forward passes of each prompt alone, and the reported
// log-probs equal log_softmax of the full forward's logits within 1e-4.
func TestGreedyMatchesFullForward(t *testing.T) {
	m := newTestModel(t, testConfig, dtypes.Float32, 11)
	prompts := [][]int32{randomPrompt(1, 7, 97), randomPrompt(2, 21, 97), randomPrompt(3, 3, 97), randomPrompt(4, 12, 97)}
	const maxTokens = 24
	for _, mode := range []struct {
		name string
		loop LoopMode
	}{{"auto", LoopAuto}, {"host-loop", HostLoop}} {
		t.Run(mode.name, func(t *testing.T) {
			g := newGenerator(t, m, Options{Loop: mode.loop, SegmentSteps: 10, IgnoreEOS: true})
			out := mustGenerate(t, g, greedyRequest(prompts, maxTokens))
			for i, c := range out {
				want, lps, gap := referenceGreedy(t, m, prompts[i], maxTokens, nil)
				if gap < 1e-3 {
					t.Fatalf("prompt %d: the reference has a near-tie (gap %g); pick another seed", i, gap)
				}
				if !slices.Equal(c.IDs, want) {
					t.Fatalf("prompt %d: sampler %v, full forward %v", i, c.IDs, want)
				}
				for j := range lps {
					if math.Abs(float64(c.LogProbs[j])-lps[j]) > 1e-4 {
						t.Fatalf("prompt %d token %d: log-prob %v, reference %v", i, j, c.LogProbs[j], lps[j])
					}
				}
				if c.FinishReason != generate.FinishLength || c.Prompt != i || !slices.Equal(c.PromptIDs, prompts[i]) {
					t.Fatalf("completion %d: %s, prompt ids %v", i, describe(c), c.PromptIDs)
				}
			}
			st := g.LastStats()
			// On the Go backend LoopAuto decodes one step per call (see LoopAuto).
			if !st.HostLoop || st.CacheSlots != 32+30 || st.Steps != maxTokens-1 || st.DeviceCalls != 1+2+maxTokens-1 {
				t.Fatalf("stats %+v: want the host loop, 62 cache slots (32 + 3 segments of 10), %d steps, %d calls", st, maxTokens-1, maxTokens+2)
			}
		})
	}
}
