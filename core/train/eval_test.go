package train

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/generate"
	"github.com/grpo-dev/grpo/core/reward"
)

// answerGen answers prompt i's completion j with answers[i][j] (greedy: answers[i][0]) and
// records the requests.
type answerGen struct {
	greedy  []string
	sampled [][]string
	reqs    []generate.Request
}

func (g *answerGen) Generate(_ context.Context, req generate.Request) ([]generate.Completion, error) {
	g.reqs = append(g.reqs, req)
	var out []generate.Completion
	for i := range req.Prompts {
		for j := range req.N {
			text := g.greedy[i]
			if req.Sampling.Temperature > 0 {
				text = g.sampled[i][j]
			}
			out = append(out, generate.Completion{Prompt: i, Text: text, IDs: make([]int32, len(text))})
		}
	}
	return out, nil
}

func (g *answerGen) SyncWeights(context.Context, generate.WeightSource) error { return nil }
func (g *answerGen) Close() error                                             { return nil }

// exactReward scores 1 when the completion equals the row's "answer", NaN when the row has none.
type exactReward struct{}

func (exactReward) Name() string { return "exact" }
func (exactReward) Close() error { return nil }
func (exactReward) Score(_ context.Context, _ int64, ss []reward.Sample) (reward.Scores, error) {
	v := make([]float64, len(ss))
	for i, s := range ss {
		a, ok := s.Metadata["answer"].(string)
		switch {
		case !ok:
			v[i] = math.NaN()
		case strings.TrimSpace(s.Completion) == a:
			v[i] = 1
		}
	}
	return reward.Scores{Values: v}, nil
}

func TestEvaluate(t *testing.T) {
	ex := []data.Example{
		{Prompt: "p0", Metadata: map[string]any{"answer": "1"}},
		{Prompt: "p1", Metadata: map[string]any{"answer": "2"}},
		{Prompt: "p2", Metadata: map[string]any{"answer": "3"}},
		{Prompt: "p3", Metadata: map[string]any{}}, // no reference: never scored
	}
	gen := &answerGen{
		greedy: []string{"1", "x", "3", "4"},
		sampled: [][]string{
			{"1", "1", "0"},
			{"0", "0", "2"},
			{"0", "0", "0"},
			{"4", "4", "4"},
		},
	}
	res, err := Evaluate(context.Background(), gen, ex, []reward.Reward{exactReward{}}, []float64{1}, EvalConfig{MaxTokens: 9, K: 3, Temperature: 1, Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Greedy: p0 and p2 right of 4 prompts. pass@3: p0, p1. Sampled: 3 right of 12.
	want := EvalResult{Prompts: 4, Greedy: 0.5, GreedyReward: 0.5, PassAtK: 0.5, Sampled: 0.25, GreedyTokens: 1, Unscored: 4}
	if res != want {
		t.Fatalf("got %+v\nwant %+v", res, want)
	}
	if len(gen.reqs) != 2 || gen.reqs[0].Sampling.Temperature != 0 || gen.reqs[0].N != 1 || gen.reqs[1].N != 3 || gen.reqs[1].Sampling.MaxTokens != 9 {
		t.Fatalf("requests %+v", gen.reqs)
	}
	greedyOnly, err := Evaluate(context.Background(), gen, ex[:3], []reward.Reward{exactReward{}}, []float64{2}, EvalConfig{MaxTokens: 9, Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if greedyOnly.Greedy != 2.0/3 || greedyOnly.GreedyReward != 4.0/3 || !math.IsNaN(greedyOnly.PassAtK) {
		t.Fatalf("weighted greedy-only: %+v", greedyOnly)
	}
	if _, err := Evaluate(context.Background(), gen, ex, []reward.Reward{exactReward{}}, nil, EvalConfig{}); err == nil {
		t.Fatal("missing weights accepted")
	}
}
