package data

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
)

// SamplerConfig is the batch geometry of RLT's GRPO trainer (trainers/grpo.py:309-392, 608-628;
// shared/research/rlt.md §2.1).
type SamplerConfig struct {
	// NumRows is the dataset size.
	NumRows int
	// NumGenerations is G, the completions per prompt (≥ 2). 0 means the whole global batch
	// b·S·P, as RLT's num_generations=None.
	NumGenerations int
	// PerDeviceBatchSize is b, the configured per_device_train_batch_size (before RLT rewrites
	// it to b·S).
	PerDeviceBatchSize int
	// NumProcesses is P, the number of training processes; 0 means 1.
	NumProcesses int
	// GenerationAggregationSteps is S, the micro-steps served by one generation round; 0 means 1.
	GenerationAggregationSteps int
	// ArtificialEpochs repeats the dataset inside one pass, each time in a fresh permutation;
	// 0 means 1.
	ArtificialEpochs int
	Seed             int64
}

// MicroBatch is one global micro-batch: b·S·P row indices laid out as [p1×G, p2×G, …, pK×G].
type MicroBatch struct {
	Indices []int
	// Pass counts completed passes over the sampler (the trainer's epochs).
	Pass int
	// Chunk is the chunk of K distinct prompts within the pass; Copy (0..S-1) is which of its S
	// identical copies this is. Copy 0 starts a generation round; copies 1..S-1 are served
	// from that round's buffer (RLT _prepare_inputs, trainers/grpo.py:768-868).
	Chunk, Copy int
}

// Shard returns process rank's rows of the micro-batch: [rank·b·S, (rank+1)·b·S), as
// accelerate splits RLT's batches.
func (m MicroBatch) Shard(rank, processes int) []int {
	n := len(m.Indices) / processes
	return m.Indices[rank*n : (rank+1)*n]
}

// RepeatSampler is RLT's RepeatRandomSampler (trainers/grpo.py:90-148) as a resumable iterator
// over global micro-batches. Each pass takes a seeded permutation of the rows, concatenated
// ArtificialEpochs times with fresh permutations; cuts it into chunks of K = b·P·S/G prompts,
// dropping an incomplete last chunk (a chunk may span an epoch boundary, as in RLT); and yields
// each chunk S times as [p1×G, …, pK×G]. When a pass ends the next begins with new permutations,
// as RLT's sampler continues its torch.Generator on the next epoch's __iter__.
//
// The permutations come from math/rand/v2's PCG seeded with (Seed, pass), not from torch's
// generator: the order differs from RLT's, the distribution and the layout do not, and a pass
// can be rebuilt from its number alone, which makes Restore exact.
type RepeatSampler struct {
	cfg SamplerConfig
	k   int // distinct prompts per chunk

	pass   int
	next   int     // next micro-batch within the pass: chunk·S + copy
	chunks [][]int // the current pass's chunks
}

// NewRepeatSampler validates the geometry (RLT's asserts, with messages that say what to change).
func NewRepeatSampler(cfg SamplerConfig) (*RepeatSampler, error) {
	if cfg.NumProcesses == 0 {
		cfg.NumProcesses = 1
	}
	if cfg.GenerationAggregationSteps == 0 {
		cfg.GenerationAggregationSteps = 1
	}
	if cfg.ArtificialEpochs == 0 {
		cfg.ArtificialEpochs = 1
	}
	b, p, s := cfg.PerDeviceBatchSize, cfg.NumProcesses, cfg.GenerationAggregationSteps
	switch {
	case b < 1:
		return nil, fmt.Errorf("per_device_train_batch_size = %d, want ≥ 1", b)
	case p < 1 || s < 1:
		return nil, fmt.Errorf("process count %d and generation_aggregation_steps %d must be ≥ 1", p, s)
	case cfg.ArtificialEpochs < 1:
		return nil, fmt.Errorf("artificial_epochs = %d, want ≥ 1", cfg.ArtificialEpochs)
	case cfg.NumRows < 1:
		return nil, fmt.Errorf("the training dataset is empty")
	}
	global := b * p * s
	if cfg.NumGenerations == 0 {
		cfg.NumGenerations = global
	}
	g := cfg.NumGenerations
	if g < 2 {
		return nil, fmt.Errorf("num_generations = %d, want ≥ 2 (group advantages need at least two completions per prompt)", g)
	}
	if global%g != 0 {
		return nil, fmt.Errorf("num_generations = %d does not divide the generation batch per_device_train_batch_size × processes × generation_aggregation_steps = %d×%d×%d = %d; change one of them", g, b, p, s, global)
	}
	k := global / g
	if cfg.NumRows*cfg.ArtificialEpochs < k {
		return nil, fmt.Errorf("the dataset has %d rows × %d artificial epochs, fewer than the %d distinct prompts one generation round needs (b·P·S/G = %d); use more data, artificial_epochs, or a smaller batch", cfg.NumRows, cfg.ArtificialEpochs, k, k)
	}
	r := &RepeatSampler{cfg: cfg, k: k}
	r.buildPass()
	return r, nil
}

// PromptsPerChunk is K = b·P·S/G.
func (r *RepeatSampler) PromptsPerChunk() int { return r.k }

// NumGenerations is G (resolved when the config said 0).
func (r *RepeatSampler) NumGenerations() int { return r.cfg.NumGenerations }

// MicroBatchesPerPass is the number of global micro-batches in one pass:
// ⌊N·epochs/K⌋ chunks × S copies.
func (r *RepeatSampler) MicroBatchesPerPass() int {
	return (r.cfg.NumRows * r.cfg.ArtificialEpochs / r.k) * r.cfg.GenerationAggregationSteps
}

// Next returns the next global micro-batch; the stream never ends (passes follow each other).
func (r *RepeatSampler) Next() MicroBatch {
	if r.next >= r.MicroBatchesPerPass() {
		r.pass++
		r.next = 0
		r.buildPass()
	}
	s := r.cfg.GenerationAggregationSteps
	chunk, cp := r.next/s, r.next%s
	r.next++
	g := r.cfg.NumGenerations
	idx := make([]int, 0, r.k*g)
	for _, row := range r.chunks[chunk] {
		for range g {
			idx = append(idx, row)
		}
	}
	return MicroBatch{Indices: idx, Pass: r.pass, Chunk: chunk, Copy: cp}
}

// buildPass draws the pass's permutations and cuts them into chunks.
func (r *RepeatSampler) buildPass() {
	rng := rand.New(rand.NewPCG(uint64(r.cfg.Seed), uint64(r.pass)))
	order := make([]int, 0, r.cfg.NumRows*r.cfg.ArtificialEpochs)
	for range r.cfg.ArtificialEpochs {
		order = append(order, rng.Perm(r.cfg.NumRows)...)
	}
	r.chunks = r.chunks[:0]
	for i := 0; i+r.k <= len(order); i += r.k { // an incomplete last chunk is dropped
		r.chunks = append(r.chunks, order[i:i+r.k])
	}
}

// samplerState is the checkpointed data position.
type samplerState struct {
	Version          int   `json:"version"`
	NumRows          int   `json:"num_rows"`
	NumGenerations   int   `json:"num_generations"`
	PromptsPerChunk  int   `json:"prompts_per_chunk"`
	Copies           int   `json:"generation_aggregation_steps"`
	ArtificialEpochs int   `json:"artificial_epochs"`
	Seed             int64 `json:"seed"`
	Pass             int   `json:"pass"`
	Position         int   `json:"position"`
}

// State is the data position for a checkpoint: the geometry it was made with and where the
// stream stands (pass and micro-batch within the pass).
func (r *RepeatSampler) State() json.RawMessage {
	b, _ := json.Marshal(samplerState{
		Version: 1, NumRows: r.cfg.NumRows, NumGenerations: r.cfg.NumGenerations,
		PromptsPerChunk: r.k, Copies: r.cfg.GenerationAggregationSteps,
		ArtificialEpochs: r.cfg.ArtificialEpochs, Seed: r.cfg.Seed, Pass: r.pass, Position: r.next,
	})
	return b
}

// Restore moves the sampler to a checkpointed position. The geometry must match: resuming with a
// different dataset size, G, K, S, epochs or seed would silently serve other prompts, so it is
// refused with the key that differs.
func (r *RepeatSampler) Restore(state json.RawMessage) error {
	var st samplerState
	if err := json.Unmarshal(state, &st); err != nil {
		return fmt.Errorf("data position in checkpoint: %w", err)
	}
	if st.Version != 1 {
		return fmt.Errorf("data position in checkpoint has version %d; this grpo reads version 1", st.Version)
	}
	for _, c := range []struct {
		key       string
		ckpt, now int64
	}{
		{"dataset rows", int64(st.NumRows), int64(r.cfg.NumRows)},
		{"num_generations", int64(st.NumGenerations), int64(r.cfg.NumGenerations)},
		{"prompts per generation round (b·P·S/G)", int64(st.PromptsPerChunk), int64(r.k)},
		{"generation_aggregation_steps", int64(st.Copies), int64(r.cfg.GenerationAggregationSteps)},
		{"artificial_epochs", int64(st.ArtificialEpochs), int64(r.cfg.ArtificialEpochs)},
		{"seed", st.Seed, r.cfg.Seed},
	} {
		if c.ckpt != c.now {
			return fmt.Errorf("cannot resume the data position: the checkpoint was made with %s = %d, the run now has %d; resume with the checkpoint's data and batch settings", c.key, c.ckpt, c.now)
		}
	}
	if st.Pass < 0 || st.Position < 0 || st.Position > r.MicroBatchesPerPass() {
		return fmt.Errorf("data position in checkpoint (pass %d, micro-batch %d) is out of range (%d per pass)", st.Pass, st.Position, r.MicroBatchesPerPass())
	}
	r.pass, r.next = st.Pass, st.Position
	r.buildPass()
	return nil
}
