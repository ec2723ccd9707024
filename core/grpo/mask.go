package grpo

import (
	"errors"
	"fmt"
	"slices"
)

// Completions lays out B sampled completions as the [B, T] tensors the loss takes.
type Completions struct {
	B, T int
	// IDs [B·T] (row-major): each completion's tokens up to and including its first EOS, padded on
	// the right with the pad id.
	IDs []int32
	// Mask [B·T]: 1 on the tokens that count in the loss, 0 on padding (and on whole truncated
	// rows with mask_truncated_completions).
	Mask []float32
	// Lengths are the completion lengths: tokens up to and including the first EOS (TRL
	// completions/*_length, counted before mask_truncated_completions).
	Lengths []int
	// Truncated marks completions that ended without an EOS (TRL: last token not EOS or pad);
	// they were cut by max_completion_length.
	Truncated []bool
}

// CompletionsConfig holds the GRPOConfig keys of the completion mask.
type CompletionsConfig struct {
	// Width is T, the padded length (max_completion_length, or a bucket above the longest row).
	Width int
	// EOS are the ids that end a completion (the tokenizer's eos_token_id, plus the chat template's
	// end-of-turn token where it differs).
	EOS []int32
	// Pad is the padding id (pad_token_id); a completion whose last token is Pad is not truncated
	// (TRL's eos_and_pad test).
	Pad int32
	// MaskTruncated zeroes the mask of truncated completions (mask_truncated_completions), so they
	// contribute nothing to the loss (DAPO's overlong filtering).
	MaskTruncated bool
}

// BuildCompletions builds the completion mask (TRL HEAD grpo_trainer.py:1869-1873, 2417-2424; RLT
// trainers/grpo.py:832-839): a row's mask is 1 on its tokens up to and including the first EOS and
// 0 after it; a row without EOS keeps all its tokens (it was truncated by the length limit), unless
// MaskTruncated zeroes the whole row. rows are the sampled token ids, one slice per completion;
// tokens after a row's first EOS are dropped.
func BuildCompletions(rows [][]int32, cfg CompletionsConfig) (*Completions, error) {
	if cfg.Width <= 0 {
		return nil, fmt.Errorf("completion mask: width (max_completion_length) = %d, must be > 0", cfg.Width)
	}
	if len(cfg.EOS) == 0 {
		return nil, errors.New("completion mask: no EOS token ids (set the tokenizer's eos_token_id)")
	}
	b, t := len(rows), cfg.Width
	c := &Completions{
		B: b, T: t,
		IDs:       make([]int32, b*t),
		Mask:      make([]float32, b*t),
		Lengths:   make([]int, b),
		Truncated: make([]bool, b),
	}
	for i, row := range rows {
		n := len(row)
		if at := slices.IndexFunc(row, func(id int32) bool { return slices.Contains(cfg.EOS, id) }); at >= 0 {
			n = at + 1
		}
		if n > t {
			return nil, fmt.Errorf("completion mask: completion %d has %d tokens up to its first EOS, more than the width %d: raise the width to max_completion_length", i, n, t)
		}
		row = row[:n]
		c.Lengths[i] = n
		if n > 0 {
			last := row[n-1]
			c.Truncated[i] = !slices.Contains(cfg.EOS, last) && last != cfg.Pad
		}
		keep := !(cfg.MaskTruncated && c.Truncated[i])
		base := i * t
		copy(c.IDs[base:base+n], row)
		for j := n; j < t; j++ {
			c.IDs[base+j] = cfg.Pad
		}
		if keep {
			for j := range n {
				c.Mask[base+j] = 1
			}
		}
	}
	return c, nil
}

// ActiveTokens is Σ Mask: the tokens this batch contributes to dapo's NumItemsInBatch.
func (c *Completions) ActiveTokens() int {
	n := 0
	for _, m := range c.Mask {
		if m != 0 {
			n++
		}
	}
	return n
}
