package train

import (
	"github.com/grpo-dev/grpo/core/model"
)

// sequenceBucket is the granularity of padded sequence lengths: prompt and completion widths are
// rounded up to a multiple of it, so a run compiles a handful of graph shapes (GoMLX compiles one
// graph per input shape) while padding wastes at most bucket−1 positions per row.
const sequenceBucket = 16

// roundUp rounds n up to a multiple of sequenceBucket (at least one bucket).
func roundUp(n int) int {
	if n < 1 {
		n = 1
	}
	return (n + sequenceBucket - 1) / sequenceBucket * sequenceBucket
}

// sequenceChunk is a chunk of GRPO rows laid out for a forward pass of the policy over
// prompt+completion (TRL's `torch.cat([prompt_ids, completion_ids], dim=1)`): prompts left-padded
// to Lp columns, completions right-padded to Lc columns, so every row's completion starts at
// column Lp and the hidden state at column Lp−1+j predicts completion token j.
type sequenceChunk struct {
	Lp, Lc int
	// Tokens, Positions and Mask are [rows][Lp+Lc]: ids (pad id in padding), rotary positions
	// (cumsum(mask) − 1, pads at 1 as transformers' generate) and attention mask.
	Tokens, Positions, Mask [][]int32
	// Targets [rows][Lc] are the completion ids (pad id after a completion ends).
	Targets [][]int32
	// LossMask [rows][Lc] is the completion mask of core/grpo (1 on tokens that count).
	LossMask [][]float32
}

// layoutChunk pads rows into a sequenceChunk. The widths are the longest prompt and completion
// of the chunk rounded up to sequenceBucket.
func layoutChunk(rows []*sampleRow, pad int32) sequenceChunk {
	lp, lc := 0, 0
	for _, r := range rows {
		lp = max(lp, len(r.Prompt))
		lc = max(lc, len(r.Completion))
	}
	c := sequenceChunk{Lp: roundUp(lp), Lc: roundUp(lc)}
	t := c.Lp + c.Lc
	n := len(rows)
	c.Tokens, c.Mask = make([][]int32, n), make([][]int32, n)
	c.Targets, c.LossMask = make([][]int32, n), make([][]float32, n)
	for i, r := range rows {
		tok, msk := make([]int32, t), make([]int32, t)
		off := c.Lp - len(r.Prompt)
		for j := range t {
			tok[j] = pad
		}
		copy(tok[off:], r.Prompt)
		copy(tok[c.Lp:], r.Completion)
		for j := off; j < c.Lp+len(r.Completion); j++ {
			msk[j] = 1
		}
		tg, lm := make([]int32, c.Lc), make([]float32, c.Lc)
		for j := range c.Lc {
			tg[j] = pad
		}
		copy(tg, r.Completion)
		copy(lm, r.LossMask)
		c.Tokens[i], c.Mask[i], c.Targets[i], c.LossMask[i] = tok, msk, tg, lm
	}
	c.Positions = model.PositionIDs(c.Mask)
	return c
}

// perToken lays out per-row, per-completion-token values (old or reference log-probs) as
// [rows][Lc], zero-padded.
func perToken(rows []*sampleRow, lc int, get func(*sampleRow) []float32) [][]float32 {
	out := make([][]float32, len(rows))
	for i, r := range rows {
		out[i] = make([]float32, lc)
		copy(out[i], get(r))
	}
	return out
}

// tokensOf counts the rows' loss tokens (Σ mask).
func tokensOf(rows []*sampleRow) int {
	n := 0
	for _, r := range rows {
		for _, m := range r.LossMask {
			if m != 0 {
				n++
			}
		}
	}
	return n
}
