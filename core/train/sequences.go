package train

import (
	"cmp"
	"slices"

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
// prompt+completion (TRL's `torch.cat([prompt_ids, completion_ids], dim=1)`), packed: each row is
// its prompt followed by its completion, right-padded to T columns (the longest prompt +
// completion of the chunk, rounded up to sequenceBucket). Completion j of row i is predicted by
// the hidden state at column Starts[i]−1+j. Packing rows this way instead of aligning all
// completions at one column (prompts left-padded to the longest prompt) saves the columns by
// which short prompts and long completions would otherwise pad each other — a third of the
// demo's forward and backward work.
type sequenceChunk struct {
	T, Lc int
	// Tokens, Positions and Mask are [rows][T]: ids (pad id in padding), rotary positions
	// (cumsum(mask) − 1, pads at 1 as transformers does) and attention mask.
	Tokens, Positions, Mask [][]int32
	// Starts [rows] is the column of each row's first completion token (its prompt length).
	Starts []int32
	// Targets [rows][Lc] are the completion ids (pad id after a completion ends).
	Targets [][]int32
	// LossMask [rows][Lc] is the completion mask of core/grpo (1 on tokens that count).
	LossMask [][]float32
}

// layoutChunk packs rows into a sequenceChunk.
func layoutChunk(rows []*sampleRow, pad int32) sequenceChunk {
	total, lc := 0, 0
	for _, r := range rows {
		total = max(total, len(r.Prompt)+len(r.Completion))
		lc = max(lc, len(r.Completion))
	}
	c := sequenceChunk{T: roundUp(total), Lc: roundUp(lc)}
	n := len(rows)
	c.Tokens, c.Mask, c.Starts = make([][]int32, n), make([][]int32, n), make([]int32, n)
	c.Targets, c.LossMask = make([][]int32, n), make([][]float32, n)
	for i, r := range rows {
		tok, msk := make([]int32, c.T), make([]int32, c.T)
		used := copy(tok, r.Prompt)
		used += copy(tok[used:], r.Completion)
		for j := range c.T {
			if j < used {
				msk[j] = 1
			} else {
				tok[j] = pad
			}
		}
		tg, lm := make([]int32, c.Lc), make([]float32, c.Lc)
		for j := range c.Lc {
			tg[j] = pad
		}
		copy(tg, r.Completion)
		copy(lm, r.LossMask)
		c.Tokens[i], c.Mask[i], c.Starts[i], c.Targets[i], c.LossMask[i] = tok, msk, int32(len(r.Prompt)), tg, lm
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

// byLength returns the rows ordered by prompt+completion length (a copy; stable), so that
// consecutive chunks hold rows of similar length and pad little. Every loss_type normalises by
// quantities of the whole micro-batch or step (lossSpec), so how a micro-batch is cut into
// backward chunks does not change its gradient.
func byLength(rows []*sampleRow) []*sampleRow {
	out := slices.Clone(rows)
	slices.SortStableFunc(out, func(a, b *sampleRow) int {
		return cmp.Compare(len(a.Prompt)+len(a.Completion), len(b.Prompt)+len(b.Completion))
	})
	return out
}

// withGradient returns the rows with a non-zero advantage, in order.
func withGradient(rows []*sampleRow) []*sampleRow {
	var out []*sampleRow
	for _, r := range rows {
		if r.Advantage != 0 {
			out = append(out, r)
		}
	}
	return out
}

// inertPadded fills rows up to n with inert rows: a one-token prompt, no completion, advantage 0.
// They keep a chunk's shape (and grpo's per-chunk mean over n rows) and add nothing to the loss.
func inertPadded(rows []*sampleRow, n int, pad int32) []*sampleRow {
	out := slices.Clone(rows)
	for len(out) < n {
		out = append(out, &sampleRow{Prompt: []int32{pad}})
	}
	return out
}
