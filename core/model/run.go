package model

import (
	"fmt"
	"sync"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gm "github.com/gomlx/gomlx/ml/model"
)

// Batch is a padded batch on the host: row-major [B][T] token ids, rotary positions and
// attention mask (1 real, 0 padding).
type Batch struct {
	Tokens, Positions, Mask [][]int32
}

// LeftPad builds a left-padded batch from token sequences: pads go first, the mask marks the
// tokens, and positions are transformers' position_ids = cumsum(mask) − 1 with pads set to 1.
func LeftPad(seqs [][]int32, padID int32) Batch {
	t := 0
	for _, s := range seqs {
		t = max(t, len(s))
	}
	b := Batch{Tokens: make([][]int32, len(seqs)), Mask: make([][]int32, len(seqs))}
	for i, s := range seqs {
		b.Tokens[i], b.Mask[i] = make([]int32, t), make([]int32, t)
		for j := range t - len(s) {
			b.Tokens[i][j] = padID
		}
		copy(b.Tokens[i][t-len(s):], s)
		for j := t - len(s); j < t; j++ {
			b.Mask[i][j] = 1
		}
	}
	b.Positions = PositionIDs(b.Mask)
	return b
}

// PositionIDs returns cumsum(mask) − 1 per row, with padding positions set to 1 (transformers'
// generate: position_ids.masked_fill_(attention_mask == 0, 1)).
func PositionIDs(mask [][]int32) [][]int32 {
	out := make([][]int32, len(mask))
	for i, row := range mask {
		out[i] = make([]int32, len(row))
		var c int32
		for j, m := range row {
			if m != 0 {
				c++
				out[i][j] = c - 1
			} else {
				out[i][j] = 1
			}
		}
	}
	return out
}

func (b Batch) check() (rows, cols int, err error) {
	rows = len(b.Tokens)
	if rows == 0 || len(b.Tokens[0]) == 0 {
		return 0, 0, fmt.Errorf("empty batch")
	}
	cols = len(b.Tokens[0])
	if len(b.Positions) != rows || len(b.Mask) != rows {
		return 0, 0, fmt.Errorf("batch has %d token rows, %d position rows and %d mask rows", rows, len(b.Positions), len(b.Mask))
	}
	for i := range rows {
		if len(b.Tokens[i]) != cols || len(b.Positions[i]) != cols || len(b.Mask[i]) != cols {
			return 0, 0, fmt.Errorf("batch row %d: tokens, positions and mask must all have %d columns", i, cols)
		}
	}
	return rows, cols, nil
}

// execCache holds the Execs of the host helpers, built on first use.
type execCache struct {
	mu             sync.Mutex
	logits, cached *gm.Exec
}

func newExecCache() *execCache { return &execCache{} }

// ComputeLogits runs a full forward pass over a host batch and returns float32 logits [B,T,V].
func (m *Model) ComputeLogits(b Batch) (*tensors.Tensor, error) {
	if _, _, err := b.check(); err != nil {
		return nil, err
	}
	m.execs.mu.Lock()
	defer m.execs.mu.Unlock()
	if m.execs.logits == nil {
		e, err := gm.NewExec(m.backend, m.Store, func(_ *gm.Scope, tokens, positions, mask *Node) *Node {
			return m.Logits(m.Forward(Inputs{Tokens: tokens, Positions: positions, Mask: mask}))
		})
		if err != nil {
			return nil, err
		}
		m.execs.logits = e
	}
	out, err := m.execs.logits.Call(b.Tokens, b.Positions, b.Mask)
	if err != nil {
		return nil, fmt.Errorf("model forward: %w", err)
	}
	return out[0], nil
}

// ComputeLogitsCached computes the same logits as ComputeLogits through the KV-cache path, as a
// sampler would: a prefill of the first `prefill` columns, then one decode step per remaining
// column. The cache has exactly T slots; at every step the mask covers only the slots written
// so far. It exists to check the cache path against the full forward (tests, `grpo forward`).
func (m *Model) ComputeLogitsCached(b Batch, prefill int) (*tensors.Tensor, error) {
	_, cols, err := b.check()
	if err != nil {
		return nil, err
	}
	if prefill < 1 || prefill > cols {
		return nil, fmt.Errorf("prefill length %d must be in [1, %d]", prefill, cols)
	}
	chunks := []int{prefill}
	for range cols - prefill {
		chunks = append(chunks, 1)
	}
	return m.computeLogitsChunks(b, chunks)
}

// computeLogitsChunks feeds the batch's columns to ForwardCached in chunks of the given sizes.
func (m *Model) computeLogitsChunks(b Batch, chunks []int) (*tensors.Tensor, error) {
	rows, cols, err := b.check()
	if err != nil {
		return nil, err
	}
	m.execs.mu.Lock()
	defer m.execs.mu.Unlock()
	if m.execs.cached == nil {
		e, err := gm.NewExec(m.backend, m.Store, func(_ *gm.Scope, in []*Node) []*Node {
			hidden, cache := m.ForwardCached(Inputs{Tokens: in[0], Positions: in[1], Mask: in[2]}, in[3], CacheFromNodes(in[4:]))
			return append([]*Node{m.Logits(hidden)}, cache.Nodes()...)
		})
		if err != nil {
			return nil, err
		}
		m.execs.cached = e
	}
	var cache []any
	for _, c := range m.NewCache(rows, cols) {
		cache = append(cache, c)
	}
	cut := func(x [][]int32, lo, hi int) [][]int32 {
		out := make([][]int32, rows)
		for i := range rows {
			out[i] = x[i][lo:hi]
		}
		return out
	}
	vocab := m.Config.VocabSize
	logits := make([]float32, rows*cols*vocab)
	start := 0
	for _, n := range chunks {
		if n < 1 || start+n > cols {
			return nil, fmt.Errorf("chunk of %d columns at column %d does not fit %d columns", n, start, cols)
		}
		mask := make([][]int32, rows) // slots written after this step
		for i := range rows {
			mask[i] = make([]int32, cols)
			copy(mask[i][:start+n], b.Mask[i][:start+n])
		}
		args := append([]any{cut(b.Tokens, start, start+n), cut(b.Positions, start, start+n), mask, int32(start)}, cache...)
		out, err := m.execs.cached.Call(args...)
		if err != nil {
			return nil, fmt.Errorf("cached forward at column %d: %w", start, err)
		}
		step := tensors.MustCopyFlatData[float32](out[0]) // [B,n,V]
		for i := range rows {
			copy(logits[(i*cols+start)*vocab:(i*cols+start+n)*vocab], step[i*n*vocab:(i+1)*n*vocab])
		}
		for i := range cache {
			cache[i] = out[1+i]
		}
		start += n
	}
	if start != cols {
		return nil, fmt.Errorf("chunks cover %d of %d columns", start, cols)
	}
	return tensors.FromFlatDataAndDimensions(logits, rows, cols, vocab), nil
}
