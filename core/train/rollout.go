package train

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/generate"
	"github.com/grpo-dev/grpo/core/grpo"
	"github.com/grpo-dev/grpo/core/reward"
)

// sampleRow is one completion of a generation round, as the loss needs it. Rows are what the
// step buffer holds between generation and the backward passes (and what a checkpoint taken in
// the middle of num_iterations > 1 stores).
type sampleRow struct {
	Prompt     []int32   `json:"prompt"`     // prompt ids as generated from (left-truncated to max_prompt_length)
	Completion []int32   `json:"completion"` // sampled ids up to and including the first EOS
	LossMask   []float32 `json:"loss_mask"`  // core/grpo completion mask over Completion
	Advantage  float64   `json:"advantage"`
	// OldLogProbs are the generating policy's log-probs of Completion (num_iterations > 1) and
	// RefLogProbs the reference model's (beta > 0); nil otherwise.
	OldLogProbs []float32 `json:"old_log_probs,omitempty"`
	RefLogProbs []float32 `json:"ref_log_probs,omitempty"`
}

// round is one generation round: K distinct prompts × G completions, prompt-major (the layout of
// RLT's RepeatRandomSampler, [p1×G, …, pK×G]), scored and turned into advantages.
type round struct {
	rows        []*sampleRow
	examples    []data.Example // per row
	completions []generate.Completion
	rewards     [][]float64 // [reward][row]
	adv         *grpo.Advantages
	comp        *grpo.Completions
	skipped     bool // a reward failed and reward_failure = "skip_batch"
	failures    int  // reward plugin calls that failed in this round
}

// rollout is the generation side of the trainer: prompt ids, the Generator and the rewards.
type rollout struct {
	gen       generate.Generator
	encode    func(text string) []int32
	sampling  generate.Sampling
	g         int  // num_generations
	shuffle   bool // shuffle_generation_inputs
	seed      int64
	maxPrompt int
	maskCfg   grpo.CompletionsConfig
	advCfg    grpo.AdvantageConfig
	scorer    *scorer
}

// roundSeed derives the sampling seed of generation round r of optimizer step `step` from the run
// seed (a SplitMix64 mix), so a resumed run samples exactly what the uninterrupted one did.
func roundSeed(seed int64, step int64, r int) int64 {
	x := uint64(seed)*0x9e3779b97f4a7c15 + uint64(step)*0xbf58476d1ce4e5b9 + uint64(r)*0x94d049bb133111eb
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return int64(x >> 1)
}

// promptIDs tokenises a prompt as TRL does (no special tokens added: a chat template already
// carries them) and keeps its last max_prompt_length tokens (TRL/RLT left truncation).
func (ro *rollout) promptIDs(text string) []int32 {
	ids := ro.encode(text)
	if ro.maxPrompt > 0 && len(ids) > ro.maxPrompt {
		ids = ids[len(ids)-ro.maxPrompt:]
	}
	return ids
}

// generate samples G completions for each example (RLT _generate_and_score,
// trainers/grpo.py:870-1179): the K distinct prompts of the round go to the Generator with N = G,
// so the completions of one prompt share its prefill; the result is prompt-major. With
// shuffle_generation_inputs the prompts are sent in a seeded random order and the completions put
// back in order afterwards. RLT shuffles single rows to balance load across vLLM clients; here
// whole groups move together, which balances as well and keeps the shared prefill.
func (ro *rollout) generate(ctx context.Context, examples []data.Example, seed int64) ([]generate.Completion, [][]int32, error) {
	k := len(examples)
	ids := make([][]int32, k)
	prompts := make([]generate.Prompt, k)
	for i, ex := range examples {
		ids[i] = ro.promptIDs(ex.Prompt)
		if len(ids[i]) == 0 {
			return nil, nil, fmt.Errorf("prompt of %s is empty after tokenisation; every prompt needs at least one token", ex.Where)
		}
		prompts[i] = generate.Prompt{Text: ex.Prompt, IDs: ids[i]}
	}
	var order data.Shuffle
	if ro.shuffle {
		order = data.NewShuffle(k, ro.seed, uint64(seed))
		prompts = data.Shuffled(order, prompts)
	}
	s := ro.sampling
	s.Seed = seed
	out, err := ro.gen.Generate(ctx, generate.Request{Prompts: prompts, N: ro.g, Sampling: s, MaxPromptTokens: ro.maxPrompt})
	if err != nil {
		return nil, nil, fmt.Errorf("generation backend: %w", err)
	}
	if len(out) != k*ro.g {
		return nil, nil, fmt.Errorf("generation backend returned %d completions for %d prompts × num_generations %d", len(out), k, ro.g)
	}
	if ro.shuffle {
		groups := make([][]generate.Completion, k)
		for i := range groups {
			groups[i] = out[i*ro.g : (i+1)*ro.g]
		}
		groups = data.Unshuffled(order, groups)
		out = slices.Concat(groups...)
	}
	return out, ids, nil
}

// run generates and scores round r of optimizer step step+1. examples has K·G entries, G consecutive copies of each
// prompt (the sampler's layout). A reward failure with reward_failure = "error" is returned as
// an error of type *RewardError.
func (ro *rollout) run(ctx context.Context, examples []data.Example, step int64, r int, tm *stepTimes) (*round, error) {
	g := ro.g
	if len(examples)%g != 0 {
		return nil, fmt.Errorf("generation round of %d rows is not a multiple of num_generations %d", len(examples), g)
	}
	unique := make([]data.Example, len(examples)/g)
	for i := range unique {
		unique[i] = examples[i*g]
	}
	seed := roundSeed(ro.seed, step, r)
	start := time.Now()
	comps, ids, err := ro.generate(ctx, unique, seed)
	if err != nil {
		return nil, fmt.Errorf("step %d, generation round %d: %w", step+1, r+1, err)
	}
	tm.generation += time.Since(start)
	for _, c := range comps {
		tm.genTokens += len(c.IDs)
	}
	rd := &round{examples: examples, completions: comps}
	samples := make([]reward.Sample, len(comps))
	rowsIDs := make([][]int32, len(comps))
	for i, c := range comps {
		ex := examples[i]
		samples[i] = reward.Sample{Prompt: ex.Prompt, Completion: c.Text, PromptIDs: ids[i/g], CompletionIDs: c.IDs, Metadata: ex.Metadata}
		rowsIDs[i] = c.IDs
	}
	if rd.comp, err = grpo.BuildCompletions(rowsIDs, ro.maskCfg); err != nil {
		return nil, fmt.Errorf("step %d: %w", step+1, err)
	}
	start = time.Now()
	cols, failures, err := ro.scorer.score(ctx, seed, samples, step+1)
	tm.scoring += time.Since(start)
	rd.failures = failures
	if err != nil {
		return nil, err
	}
	if cols == nil { // skip_batch
		rd.skipped = true
		return rd, nil
	}
	rd.rewards = cols
	if rd.adv, err = grpo.ComputeAdvantages(cols, ro.advCfg); err != nil {
		return nil, fmt.Errorf("step %d: %w", step+1, err)
	}
	rd.rows = make([]*sampleRow, len(comps))
	t := rd.comp.T
	for i := range comps {
		n := rd.comp.Lengths[i]
		rd.rows[i] = &sampleRow{
			Prompt:     ids[i/g],
			Completion: slices.Clone(rd.comp.IDs[i*t : i*t+n]),
			LossMask:   slices.Clone(rd.comp.Mask[i*t : i*t+n]),
			Advantage:  rd.adv.Values[i],
		}
	}
	return rd, nil
}
