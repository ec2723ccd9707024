package local

import (
	"fmt"
	"slices"
	"sort"

	"github.com/grpo-dev/grpo/core/generate"
)

// This file is the host-side request plumbing: prompts to token ids (tokenised, truncated from
// the left), prompts grouped into batches by length, and padded shapes picked from small fixed
// sets of buckets so the number of compiled graphs stays bounded.

// promptIDs turns the request's prompts into token ids: ids as given, text through the
// tokenizer (add_special_tokens as Options.AddSpecialTokens; TRL's GRPOTrainer tokenises with
// add_special_tokens=False because chat templates already carry them), then truncated from the
// left to maxPrompt tokens (0: no limit), as TRL's max_prompt_length does.
func (g *Generator) promptIDs(prompts []generate.Prompt, maxPrompt int) ([][]int32, error) {
	vocab := int32(g.policy.Config.VocabSize)
	out := make([][]int32, len(prompts))
	for i, p := range prompts {
		ids := p.IDs
		if ids == nil {
			if g.tok == nil {
				return nil, fmt.Errorf("prompt %d is text but the generator has no tokenizer: pass token ids, or create it with a tokenizer (the model directory's tokenizer.json)", i)
			}
			ids = g.tok.Encode(p.Text, g.opts.AddSpecialTokens)
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("prompt %d is empty (no tokens): every prompt needs at least one token", i)
		}
		for j, id := range ids {
			if id < 0 || id >= vocab {
				return nil, fmt.Errorf("prompt %d: token %d at position %d is outside the model's vocabulary [0, %d)", i, id, j, vocab)
			}
		}
		if maxPrompt > 0 && len(ids) > maxPrompt {
			ids = ids[len(ids)-maxPrompt:]
		}
		out[i] = slices.Clone(ids)
	}
	return out, nil
}

// batchPlan is one device batch: unique prompts (indices into the request) decoded together.
type batchPlan struct {
	prompts []int // request indices, shortest first
	rows    int   // Bp: unique-prompt rows after bucketing (≥ len(prompts)); decode rows = Bp·N
	length  int   // P: padded prompt length
}

// planBatches sorts the prompts by length (less padding) and cuts them into batches of at most
// max(1, maxRows/n) prompts. Each batch's prompt count is padded up to a power of two (capped at
// the batch size) and its length to a prompt bucket, so a run compiles few shapes.
func planBatches(lengths []int, n, maxRows int, buckets []int) ([]batchPlan, error) {
	order := make([]int, len(lengths))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return lengths[order[a]] < lengths[order[b]] })
	per := max(1, maxRows/n)
	var plans []batchPlan
	for start := 0; start < len(order); start += per {
		idx := order[start:min(start+per, len(order))]
		longest := lengths[idx[len(idx)-1]]
		p, err := promptBucket(longest, buckets)
		if err != nil {
			return nil, fmt.Errorf("prompt %d: %w", idx[len(idx)-1], err)
		}
		plans = append(plans, batchPlan{prompts: slices.Clone(idx), rows: min(nextPow2(len(idx)), per), length: p})
	}
	return plans, nil
}

// defaultPromptBuckets: 16, 32, 64, then every multiple of 64. Multiples of 64 waste less than
// powers of two on long prompts, and with the default SegmentSteps of 128 every cache size is a
// multiple of 64, so decode graphs are shared between prompt buckets.
const bucketStep = 64

// promptBucket is the smallest bucket ≥ n: from the given list, or the default scheme when the
// list is empty.
func promptBucket(n int, buckets []int) (int, error) {
	if len(buckets) == 0 {
		for _, b := range []int{16, 32, 64} {
			if n <= b {
				return b, nil
			}
		}
		return (n + bucketStep - 1) / bucketStep * bucketStep, nil
	}
	for _, b := range buckets {
		if n <= b {
			return b, nil
		}
	}
	return 0, fmt.Errorf("its %d tokens exceed the largest prompt bucket (%d): add a bucket or set max_prompt_length", n, buckets[len(buckets)-1])
}

func nextPow2(n int) int {
	p := 1
	for p < n {
		p *= 2
	}
	return p
}

// leftPad builds the prefill inputs of a batch: tokens, positions and mask [rows][length],
// prompts right-aligned (left padding, as TRL pads prompts), positions cumsum(mask) − 1 with pads
// at 1 (transformers' generate), and valid[i] false for the bucket's padding rows.
func leftPad(prompts [][]int32, rows, length int, pad int32) (tokens, positions, mask [][]int32, valid []bool) {
	tokens, positions, mask = make([][]int32, rows), make([][]int32, rows), make([][]int32, rows)
	valid = make([]bool, rows)
	for i := range rows {
		tokens[i], positions[i], mask[i] = make([]int32, length), make([]int32, length), make([]int32, length)
		var ids []int32
		if i < len(prompts) {
			ids, valid[i] = prompts[i], true
		}
		off := length - len(ids)
		for j := range length {
			positions[i][j] = 1
			tokens[i][j] = pad
			if j >= off {
				tokens[i][j], mask[i][j], positions[i][j] = ids[j-off], 1, int32(j-off)
			}
		}
	}
	return tokens, positions, mask, valid
}

// completionOf cuts a row's T sampled tokens at its first stop token (included) and says why it
// ended.
func completionOf(tokens []int32, logProbs []float32, stop func(int32) bool) (ids []int32, lps []float32, reason string) {
	for i, t := range tokens {
		if stop(t) {
			return slices.Clone(tokens[:i+1]), slices.Clone(logProbs[:i+1]), generate.FinishStop
		}
	}
	return slices.Clone(tokens), slices.Clone(logProbs), generate.FinishLength
}
