package train

import (
	"context"
	"fmt"
	"math"

	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/generate"
	"github.com/grpo-dev/grpo/core/reward"
)

// EvalConfig configures Evaluate.
type EvalConfig struct {
	// MaxTokens is the completion budget (max_completion_length).
	MaxTokens int
	// MaxPromptTokens truncates prompts from the left (max_prompt_length; 0 = no limit).
	MaxPromptTokens int
	// K samples per prompt at Temperature give pass@K and the sampled mean (0: greedy only).
	K           int
	Temperature float64
	// Seed of the sampled completions and of the reward calls.
	Seed int64
	// Threshold is the total reward that counts as solved (1 for a 0/1 correctness reward).
	Threshold float64
}

// EvalResult summarises an evaluation.
type EvalResult struct {
	Prompts int
	// Greedy is the fraction of prompts whose greedy completion scores ≥ Threshold (the
	// accuracy, for a correctness reward); GreedyReward their mean total reward.
	Greedy, GreedyReward float64
	// PassAtK is the fraction of prompts with at least one of K sampled completions scoring
	// ≥ Threshold; Sampled is the fraction of all sampled completions that do (pass@1 at the
	// sampling temperature). NaN when K = 0.
	PassAtK, Sampled float64
	// GreedyTokens is the mean length of the greedy completions, in tokens.
	GreedyTokens float64
	// Unscored counts completions no reward scored (NaN from every reward).
	Unscored int
}

// Evaluate generates for every example through gen, once greedily and K times at Temperature,
// scores the completions with the rewards (weighted, NaN = no score) and the example's
// metadata, and reports accuracy and pass@K. It is the held-out measurement of the demo model
// and of `grpo run`'s "held-out accuracy" line.
func Evaluate(ctx context.Context, gen generate.Generator, examples []data.Example, rewards []reward.Reward, weights []float64, cfg EvalConfig) (EvalResult, error) {
	if len(examples) == 0 {
		return EvalResult{}, fmt.Errorf("evaluate: no examples")
	}
	if len(rewards) == 0 || len(weights) != len(rewards) {
		return EvalResult{}, fmt.Errorf("evaluate: %d rewards with %d weights", len(rewards), len(weights))
	}
	prompts := make([]generate.Prompt, len(examples))
	for i, ex := range examples {
		prompts[i] = generate.Prompt{Text: ex.Prompt}
	}
	res := EvalResult{Prompts: len(examples), PassAtK: math.NaN(), Sampled: math.NaN()}
	greedy, err := gen.Generate(ctx, generate.Request{Prompts: prompts, N: 1, MaxPromptTokens: cfg.MaxPromptTokens,
		Sampling: generate.Sampling{Temperature: 0, TopP: 1, RepetitionPenalty: 1, MaxTokens: cfg.MaxTokens, Seed: cfg.Seed}})
	if err != nil {
		return res, fmt.Errorf("evaluate: greedy generation: %w", err)
	}
	scores, unscored, err := scoreCompletions(ctx, examples, greedy, 1, rewards, weights, cfg.Seed)
	if err != nil {
		return res, err
	}
	res.Unscored += unscored
	var solved int
	var tokens int
	for i, s := range scores {
		res.GreedyReward += s / float64(len(scores))
		if s >= cfg.Threshold {
			solved++
		}
		tokens += len(greedy[i].IDs)
	}
	res.Greedy = float64(solved) / float64(len(examples))
	res.GreedyTokens = float64(tokens) / float64(len(examples))
	if cfg.K <= 0 {
		return res, nil
	}
	sampled, err := gen.Generate(ctx, generate.Request{Prompts: prompts, N: cfg.K, MaxPromptTokens: cfg.MaxPromptTokens,
		Sampling: generate.Sampling{Temperature: cfg.Temperature, TopP: 1, RepetitionPenalty: 1, MaxTokens: cfg.MaxTokens, Seed: cfg.Seed}})
	if err != nil {
		return res, fmt.Errorf("evaluate: sampled generation: %w", err)
	}
	scores, unscored, err = scoreCompletions(ctx, examples, sampled, cfg.K, rewards, weights, cfg.Seed)
	if err != nil {
		return res, err
	}
	res.Unscored += unscored
	var any, all int
	for i := range examples {
		hit := false
		for j := range cfg.K {
			if scores[i*cfg.K+j] >= cfg.Threshold {
				hit = true
				all++
			}
		}
		if hit {
			any++
		}
	}
	res.PassAtK = float64(any) / float64(len(examples))
	res.Sampled = float64(all) / float64(len(examples)*cfg.K)
	return res, nil
}

// scoreCompletions returns the weighted total reward of each completion (prompt-major, n per
// example); a completion no reward scored counts as 0 and is counted in unscored.
func scoreCompletions(ctx context.Context, examples []data.Example, comps []generate.Completion, n int, rewards []reward.Reward, weights []float64, seed int64) ([]float64, int, error) {
	if len(comps) != len(examples)*n {
		return nil, 0, fmt.Errorf("evaluate: the generator returned %d completions for %d prompts × %d", len(comps), len(examples), n)
	}
	samples := make([]reward.Sample, len(comps))
	for i, c := range comps {
		ex := examples[i/n]
		samples[i] = reward.Sample{Prompt: ex.Prompt, Completion: c.Text, PromptIDs: c.PromptIDs, CompletionIDs: c.IDs, Metadata: ex.Metadata}
	}
	total := make([]float64, len(comps))
	scored := make([]bool, len(comps))
	for k, r := range rewards {
		sc, err := r.Score(ctx, seed, samples)
		if err != nil {
			return nil, 0, fmt.Errorf("evaluate: reward %s: %w", r.Name(), err)
		}
		if len(sc.Values) != len(samples) {
			return nil, 0, fmt.Errorf("evaluate: reward %s returned %d scores for %d completions", r.Name(), len(sc.Values), len(samples))
		}
		for i, v := range sc.Values {
			if !math.IsNaN(v) {
				total[i] += weights[k] * v
				scored[i] = true
			}
		}
	}
	unscored := 0
	for _, ok := range scored {
		if !ok {
			unscored++
		}
	}
	return total, unscored, nil
}
