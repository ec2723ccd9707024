package train

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"

	"github.com/grpo-dev/grpo/core/data"
)

// Encoder turns text into token ids (core/tokenizer.Tokenizer).
type Encoder interface {
	Encode(text string, addSpecial bool) []int32
}

// sftSeq is one tokenized training sequence and, per token, whether it is a loss target.
type sftSeq struct {
	ids    []int32
	target []bool
}

// tokenizeSFT tokenizes the examples. The prompt and the whole text are encoded separately; the
// completion starts where the two encodings stop agreeing, so a BPE merge across the boundary
// (rare: chat templates end the prompt with a newline) puts the straddling token on the
// completion side rather than silently shifting the span. With completionOnly the targets are
// the completion tokens (and the appended EOS), as TRL's completion-only collator; otherwise
// every token is a target. Sequences longer than maxLen are cut on the right (TRL's
// truncation); examples left without a target are dropped with a warning.
func tokenizeSFT(tok Encoder, eos int32, examples []data.SFTExample, completionOnly bool, maxLen int) ([]sftSeq, error) {
	out := make([]sftSeq, 0, len(examples))
	var truncated, empty int
	for _, ex := range examples {
		full := tok.Encode(ex.Text(), false)
		prompt := tok.Encode(ex.Prompt, false)
		if ex.AddEOS {
			if eos < 0 {
				return nil, fmt.Errorf("%s: plain-text SFT examples end with the EOS token, and the tokenizer has none (set eos_token in tokenizer_config.json)", ex.Where)
			}
			full = append(full, eos)
		}
		start := 0
		for start < len(prompt) && start < len(full) && prompt[start] == full[start] {
			start++
		}
		if len(full) > maxLen {
			full = full[:maxLen]
			truncated++
		}
		seq := sftSeq{ids: full, target: make([]bool, len(full))}
		n := 0
		for i := 1; i < len(full); i++ { // token 0 has no prediction
			if !completionOnly || i >= start {
				seq.target[i] = true
				n++
			}
		}
		if n == 0 {
			empty++
			continue
		}
		out = append(out, seq)
	}
	if truncated > 0 {
		slog.Warn("SFT examples longer than max_seq_length were truncated on the right", "count", truncated, "max_seq_length", maxLen)
	}
	if empty > 0 {
		slog.Warn("SFT examples without a token to train on were dropped (empty completion, or cut by max_seq_length)", "count", empty)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no SFT example has a token to train on (%d examples, max_seq_length %d)", len(examples), maxLen)
	}
	return out, nil
}

// packSequences concatenates the sequences, in a seeded order, into rows of exactly maxLen
// tokens (the last row may be shorter), cutting sequences at row boundaries: TRL's packing
// (trl/data_utils.py pack_examples, TRL ≤ 0.15). As there, attention is not blocked between
// examples packed into one row, and positions run 0…maxLen−1 across the row.
func packSequences(seqs []sftSeq, maxLen int, seed int64) []sftSeq {
	order := rand.New(rand.NewPCG(uint64(seed), 0x7061636b)).Perm(len(seqs))
	var rows []sftSeq
	cur := sftSeq{}
	for _, i := range order {
		s := seqs[i]
		for off := 0; off < len(s.ids); {
			n := min(maxLen-len(cur.ids), len(s.ids)-off)
			cur.ids = append(cur.ids, s.ids[off:off+n]...)
			cur.target = append(cur.target, s.target[off:off+n]...)
			off += n
			if len(cur.ids) == maxLen {
				rows = append(rows, cur)
				cur = sftSeq{}
			}
		}
	}
	if len(cur.ids) > 1 {
		rows = append(rows, cur)
	}
	// A row's first token has no prediction inside the row.
	for i := range rows {
		rows[i].target[0] = false
	}
	return rows
}

// lengthBuckets are the padded sequence lengths of micro-batches: 16, 24, 32, 48, 64, 96, …
// (two per power of two) up to maxLen, so the number of compiled shapes grows with
// log(max_seq_length) while padding stays under a third of a row.
func lengthBuckets(maxLen int) []int {
	var b []int
	for p := 16; ; p *= 2 {
		for _, x := range []int{p, p + p/2} {
			if x >= maxLen {
				return append(b, maxLen)
			}
			b = append(b, x)
		}
	}
}

// bucketFor is the smallest bucket holding n tokens.
func bucketFor(buckets []int, n int) int {
	i, _ := slices.BinarySearch(buckets, n)
	if i == len(buckets) {
		return buckets[len(buckets)-1]
	}
	return buckets[i]
}

// sftBatch is one micro-batch as graph inputs: tokens, positions, mask, targets [B,T] int32 and
// weights [B,T] float32 (1 where the next token is a loss target).
type sftBatch struct {
	tokens, positions, mask, targets [][]int32
	weights                          [][]float32
	targetCount                      int // Σ weights
	inputTokens                      int // Σ mask
}

// makeBatch pads seqs (at most rows of them) to rows × T with T the bucket of the longest input.
// Missing rows are all padding with zero weight, so every micro-batch of a run has the same
// number of rows.
func makeBatch(seqs []sftSeq, rows int, buckets []int, pad int32) sftBatch {
	longest := 1
	for _, s := range seqs {
		longest = max(longest, len(s.ids)-1)
	}
	t := bucketFor(buckets, longest)
	b := sftBatch{
		tokens: make([][]int32, rows), positions: make([][]int32, rows), mask: make([][]int32, rows),
		targets: make([][]int32, rows), weights: make([][]float32, rows),
	}
	for r := range rows {
		b.tokens[r], b.positions[r], b.mask[r] = make([]int32, t), make([]int32, t), make([]int32, t)
		b.targets[r], b.weights[r] = make([]int32, t), make([]float32, t)
		for j := range t {
			b.tokens[r][j] = pad
			b.positions[r][j] = int32(j)
		}
		if r >= len(seqs) {
			continue
		}
		s := seqs[r]
		n := min(len(s.ids)-1, t)
		for j := range n {
			b.tokens[r][j] = s.ids[j]
			b.mask[r][j] = 1
			b.targets[r][j] = s.ids[j+1]
			if s.target[j+1] {
				b.weights[r][j] = 1
				b.targetCount++
			}
		}
		b.inputTokens += n
	}
	return b
}
