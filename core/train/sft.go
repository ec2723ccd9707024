package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	gm "github.com/gomlx/gomlx/ml/model"

	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/model"
	"github.com/grpo-dev/grpo/core/optim"
)

// SFT is supervised fine-tuning as a Task: the cross-entropy of the target tokens (the
// completion with completion_only_training, as RLT's teacher SFT; every token otherwise),
// averaged over all target tokens of the optimizer step, as transformers' Trainer does with
// gradient accumulation (the loss is summed and divided by num_items_in_batch, the step's
// target-token count, transformers ≥ 4.46).
//
// Each epoch visits the examples in a fresh seeded order; a step takes the next
// per_device_train_batch_size × gradient_accumulation_steps of them (the last step of an epoch
// may take fewer), sorts them by length and cuts them into micro-batches, each padded to a
// length bucket (lengthBuckets) so that few graph shapes are compiled. With packing the
// examples are first packed into rows of max_seq_length (packSequences) and the rows are
// shuffled per epoch instead.
//
// The log-probabilities come from the policy's last hidden states and its output projection
// through the chunked chosen-token log-prob op, so the [B,T,V] logits never exist whole.
type SFT struct {
	policy  *model.Model
	seqs    []sftSeq
	buckets []int
	rows    int // per_device_train_batch_size: rows per micro-batch
	accum   int // micro-batches per step
	seed    int64
	packing bool
	pad     int32

	permEpoch int64
	perm      []int
}

// sftState is data_state.json: the data geometry. The position within the data is the global
// step itself (step gs reads a fixed slice of epoch gs/steps-per-epoch's seeded order).
type sftState struct {
	Sequences   int   `json:"sequences"`
	GlobalBatch int   `json:"global_batch"`
	Seed        int64 `json:"seed"`
	Packing     bool  `json:"packing"`
}

// NewSFT tokenizes the examples and prepares the batches. eos is appended to plain-text
// examples (data.SFTExample.AddEOS), pad fills padding.
func NewSFT(cfg *config.Config, policy *model.Model, tok Encoder, eos, pad int32, examples []data.SFTExample) (*SFT, error) {
	if cfg.PerDeviceTrainBatchSize < 1 {
		return nil, fmt.Errorf("per_device_train_batch_size = %d: must be at least 1", cfg.PerDeviceTrainBatchSize)
	}
	accum := cfg.GradientAccumulation()
	if accum < 1 {
		return nil, fmt.Errorf("gradient accumulation of %d micro-batches: check train_batch_size and per_device_train_batch_size", accum)
	}
	maxLen := cfg.MaxSeqLength
	if maxLen < 2 {
		return nil, fmt.Errorf("max_seq_length = %d: must be at least 2", maxLen)
	}
	if limit := policy.Config.MaxPositionEmbeddings; limit > 0 && maxLen > limit {
		return nil, fmt.Errorf("max_seq_length = %d exceeds the model's max_position_embeddings %d", maxLen, limit)
	}
	seqs, err := tokenizeSFT(tok, eos, examples, cfg.CompletionOnlyTraining, maxLen)
	if err != nil {
		return nil, err
	}
	if cfg.Packing {
		seqs = packSequences(seqs, maxLen, cfg.Seed)
	}
	vocab := int32(policy.Config.VocabSize)
	for i, s := range seqs {
		for _, id := range s.ids {
			if id < 0 || id >= vocab {
				return nil, fmt.Errorf("SFT sequence %d holds token id %d, outside the model's vocabulary of %d: the tokenizer does not belong to model_name_or_path", i, id, vocab)
			}
		}
	}
	if pad < 0 || pad >= vocab {
		pad = 0 // padding positions are masked out; any valid id will do
	}
	return &SFT{policy: policy, seqs: seqs, buckets: lengthBuckets(maxLen), rows: cfg.PerDeviceTrainBatchSize,
		accum: accum, seed: cfg.Seed, packing: cfg.Packing, pad: pad, permEpoch: -1}, nil
}

// Sequences is the number of training sequences (examples, or packed rows).
func (t *SFT) Sequences() int { return len(t.seqs) }

// Buckets are the padded lengths micro-batches use.
func (t *SFT) Buckets() []int { return slices.Clone(t.buckets) }

func (t *SFT) globalBatch() int { return t.rows * t.accum }

// StepsPerEpoch is ceil(sequences / (per_device_train_batch_size × gradient accumulation)).
func (t *SFT) StepsPerEpoch() int64 {
	g := t.globalBatch()
	return int64((len(t.seqs) + g - 1) / g)
}

// Reduction: each micro-batch loss is already divided by the step's target-token count.
func (t *SFT) Reduction() optim.Reduction { return optim.Sum }

// Loss is −Σ w·log p(target) / N over one micro-batch, N the step's target-token count.
// Inputs: tokens, positions, mask, targets [B,T] int32, weights [B,T] float32, N scalar float32.
func (t *SFT) Loss(_ *gm.Scope, in []*Node) (*Node, []*Node) {
	g := in[0].Graph()
	hidden := t.policy.Forward(model.Inputs{Tokens: in[0], Positions: in[1], Mask: in[2]})
	logp := tokenLogProbs(hidden, t.policy.OutputWeights(g), in[3])
	w := ConvertDType(in[4], logp.DType())
	total := ConvertDType(in[5], logp.DType())
	loss := Neg(Div(ReduceAllSum(Mul(logp, w)), total))
	return ConvertDType(loss, dtypes.Float32), nil
}

// order returns the visiting order of epoch e (seeded, one permutation per epoch).
func (t *SFT) order(e int64) []int {
	if t.permEpoch != e {
		t.perm = rand.New(rand.NewPCG(uint64(t.seed), uint64(e)+1)).Perm(len(t.seqs))
		t.permEpoch = e
	}
	return t.perm
}

// stepSeqs are the sequences of global step gs, longest first.
func (t *SFT) stepSeqs(gs int64) []sftSeq {
	spe := t.StepsPerEpoch()
	perm := t.order(gs / spe)
	g := t.globalBatch()
	k := int(gs % spe)
	idx := perm[k*g : min((k+1)*g, len(perm))]
	out := make([]sftSeq, len(idx))
	for i, j := range idx {
		out[i] = t.seqs[j]
	}
	slices.SortStableFunc(out, func(a, b sftSeq) int { return len(b.ids) - len(a.ids) })
	return out
}

// Step trains on step gs's sequences, in micro-batches of per_device_train_batch_size rows.
func (t *SFT) Step(ctx context.Context, gs int64, mb *MicroBatches) (StepResult, error) {
	seqs := t.stepSeqs(gs)
	var batches []sftBatch
	total := 0
	for lo := 0; lo < len(seqs); lo += t.rows {
		b := makeBatch(seqs[lo:min(lo+t.rows, len(seqs))], t.rows, t.buckets, t.pad)
		batches = append(batches, b)
		total += b.targetCount
	}
	var loss float64
	var tokens int64
	for i, b := range batches {
		if err := ctx.Err(); err != nil && i > 0 {
			return StepResult{}, err
		}
		l, _, err := mb.Run(i == len(batches)-1, b.tokens, b.positions, b.mask, b.targets, b.weights, float32(total))
		if err != nil {
			return StepResult{}, fmt.Errorf("SFT micro-batch %d of %d (%d×%d tokens): %w", i+1, len(batches), len(b.tokens), len(b.tokens[0]), err)
		}
		loss += l
		tokens += int64(b.inputTokens)
	}
	return StepResult{Metrics: map[string]float64{"loss": loss}, Tokens: tokens}, nil
}

// State records the data geometry; the position is the global step itself.
func (t *SFT) State() (json.RawMessage, json.RawMessage, error) {
	d, err := json.Marshal(t.state())
	return d, nil, err
}

func (t *SFT) state() sftState {
	return sftState{Sequences: len(t.seqs), GlobalBatch: t.globalBatch(), Seed: t.seed, Packing: t.packing}
}

// Restore checks that the data geometry is the one the checkpoint was made with: another
// dataset size, batch, seed or packing would silently change which examples come next.
func (t *SFT) Restore(_ int64, raw, _ json.RawMessage) error {
	if raw == nil {
		return fmt.Errorf("the checkpoint has no data position (data_state.json)")
	}
	var s sftState
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("data_state.json: %w", err)
	}
	if want := t.state(); s != want {
		return fmt.Errorf("the checkpoint's data geometry %+v differs from this run's %+v: resume with the same dataset, max_seq_length, packing, batch sizes and seed", s, want)
	}
	return nil
}
