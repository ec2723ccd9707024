package train

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
	gm "github.com/gomlx/gomlx/ml/model"

	"github.com/grpo-dev/grpo/core/grpo"
	"github.com/grpo-dev/grpo/core/model"
)

// completionLogProbs runs m over a sequenceChunk's packed rows and returns the log-probs of the
// completion targets [B, Lc] (and their entropy with cfg.Entropy) — TRL/RLT
// _get_per_token_logps (RLT trainers/grpo.py:658-671): the hidden state at column starts_i−1+j
// predicts completion token j of row i. The [B, Lc, V] logits are never materialised (core/grpo's
// chunked log-softmax).
func completionLogProbs(m *model.Model, tokens, positions, mask, starts, targets *Node, cfg grpo.LogProbsConfig) (lp, ent *Node) {
	h := m.Forward(model.Inputs{Tokens: tokens, Positions: positions, Mask: mask}) // [B, T, D]
	g := h.Graph()
	b, t, d := h.Shape().Dim(0), h.Shape().Dim(1), h.Shape().Dim(2)
	lc := targets.Shape().Dim(1)
	// Row-major index of the hidden state predicting each target: i·T + clamp(starts_i − 1 + j).
	col := Add(InsertAxes(ConvertDType(starts, dtypes.Int32), 1), Iota(g, shapes.Make(dtypes.Int32, 1, lc), 1))
	col = ClipScalar(AddScalar(col, -1), 0, float64(t-1))
	row := MulScalar(Iota(g, shapes.Make(dtypes.Int32, b, 1), 0), float64(t))
	idx := Reshape(Add(row, col), b*lc, 1)
	h = Reshape(Gather(Reshape(h, b*t, d), idx), b, lc, d)
	return grpo.TokenLogProbs(h, m.OutputWeights(g), targets, cfg)
}

// lossInputs says which optional inputs the loss graph takes, in this order after the fixed seven
// (tokens, positions, mask, starts, targets, loss mask, advantages): old log-probs, reference
// log-probs, the dapo normaliser.
type lossInputs struct {
	old, ref, items bool
}

// lossSpec is the GRPO objective of one backward chunk, with the normalisation that makes the
// summed chunk gradients of an optimizer step equal the gradient of the configured loss_type.
//
// The optimizer sums chunk gradients (optim.Sum). A micro-batch has b rows (RLT's
// per_device_train_batch_size) and is split into b/c backward chunks of c rows
// (backprop_accumulation_steps / _micro_batch_size, RLT trainers/grpo.py:1214-1243 — with RLT's
// quirk fixed: RLT divides the generation-aggregated batch b·S instead of b, grpo.py:346, so with
// S > 1 it almost always runs one chunk; here the micro-batch of b rows is chunked as intended).
// GA micro-batches make an optimizer step. Per loss_type:
//
//	grpo     Σ_chunk mean_i(seq mean) / (GA·b/c)   = mean over the GA·b sequences (RLT, TRL 0.15)
//	dr_grpo  Σ_chunk m·L / (c·Lmax·GA·b/c)         = Σ m·L / (b·Lmax) / GA per micro-batch (Dr. GRPO)
//	bnpo     Σ_chunk m·L / (tokens(micro-batch)·GA) = token mean of each micro-batch / GA (TRL bnpo)
//	dapo     Σ_chunk m·L / tokens(step)             = token mean over the optimizer step (TRL dapo)
//
// bnpo and dapo run as core/grpo's dapo reduction with the normaliser as an input.
type lossSpec struct {
	cfg    grpo.LossConfig
	lp     grpo.LogProbsConfig
	inputs lossInputs
	// itemsPerMicroBatch: the normaliser is the micro-batch's tokens × GA (bnpo) rather than the
	// step's tokens (dapo).
	itemsPerMicroBatch bool
	ga                 int // micro-batches per optimizer step
}

// newLossSpec maps the configuration onto core/grpo's loss.
func newLossSpec(lossType string, beta, eps, epsHigh float64, maxCompletion, ga, b, c int, old bool, lp grpo.LogProbsConfig) (lossSpec, error) {
	if c < 1 || b%c != 0 {
		return lossSpec{}, fmt.Errorf("backprop chunk of %d rows does not divide per_device_train_batch_size %d: set backprop_accumulation_steps to a divisor of it", c, b)
	}
	s := lossSpec{lp: lp, ga: ga, inputs: lossInputs{old: old, ref: beta != 0}}
	s.cfg = grpo.LossConfig{Beta: beta, Epsilon: eps, EpsilonHigh: epsHigh, MaxCompletionLength: maxCompletion}
	switch grpo.LossType(lossType) {
	case grpo.LossGRPO, grpo.LossDrGRPO:
		s.cfg.Type = grpo.LossType(lossType)
		s.cfg.GradientAccumulationSteps = ga * (b / c)
	case grpo.LossBNPO:
		s.cfg.Type = grpo.LossDAPO
		s.inputs.items, s.itemsPerMicroBatch = true, true
	case grpo.LossDAPO:
		s.cfg.Type = grpo.LossDAPO
		s.inputs.items = true
	default:
		return lossSpec{}, fmt.Errorf("loss_type %q: use grpo, bnpo, dr_grpo or dapo", lossType)
	}
	return s, s.cfg.Validate()
}

// lossFn builds the objective of one chunk for optim.Step: the loss, and as extra outputs the
// loss statistics [NumLossStats] and per-sequence clip fractions [B, 2] of core/grpo.
func (s lossSpec) lossFn(policy *model.Model) func(*gm.Scope, []*Node) (*Node, []*Node) {
	return func(_ *gm.Scope, in []*Node) (*Node, []*Node) {
		lp, ent := completionLogProbs(policy, in[0], in[1], in[2], in[3], in[4], s.lp)
		li := grpo.LossInputs{LogProbs: lp, Entropy: ent, Mask: in[5], Advantages: in[6]}
		k := 7
		if s.inputs.old {
			li.OldLogProbs = in[k]
			k++
		}
		if s.inputs.ref {
			li.RefLogProbs = in[k]
			k++
		}
		if s.inputs.items {
			li.NumItemsInBatch = in[k]
		}
		out := grpo.Loss(li, s.cfg)
		return out.Loss, []*Node{out.Stats, out.SeqClip}
	}
}

// args are the loss graph's inputs for a chunk; items is the dapo/bnpo normaliser.
func (s lossSpec) args(c sequenceChunk, rows []*sampleRow, items int) []any {
	adv := make([]float32, len(rows))
	for i, r := range rows {
		adv[i] = float32(r.Advantage)
	}
	a := []any{c.Tokens, c.Positions, c.Mask, c.Starts, c.Targets, c.LossMask, adv}
	if s.inputs.old {
		a = append(a, perToken(rows, c.Lc, func(r *sampleRow) []float32 { return r.OldLogProbs }))
	}
	if s.inputs.ref {
		a = append(a, perToken(rows, c.Lc, func(r *sampleRow) []float32 { return r.RefLogProbs }))
	}
	if s.inputs.items {
		a = append(a, float32(items))
	}
	return a
}

// logProber computes completion log-probs without gradient: the generating policy's (old
// log-probs, num_iterations > 1) or the reference model's (beta > 0), RLT _prepare_inputs under
// inference_mode (trainers/grpo.py:846-855).
type logProber struct {
	exec *gm.Exec
}

func newLogProber(m *model.Model, cfg grpo.LogProbsConfig) (*logProber, error) {
	exec, err := gm.NewExec(m.Backend(), m.Store, func(_ *gm.Scope, tokens, positions, mask, starts, targets *Node) *Node {
		lp, _ := completionLogProbs(m, tokens, positions, mask, starts, targets, cfg)
		return lp
	})
	if err != nil {
		return nil, err
	}
	exec.SetMaxCache(-1)
	return &logProber{exec: exec}, nil
}

// fill computes the log-probs of rows (one forward pass per chunk of at most chunk rows) and
// stores them with set.
func (p *logProber) fill(rows []*sampleRow, chunk int, pad int32, set func(r *sampleRow, lp []float32)) error {
	rows = byLength(rows)
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		c := layoutChunk(part, pad)
		out, err := p.exec.Exec(c.Tokens, c.Positions, c.Mask, c.Starts, c.Targets)
		if err != nil {
			return err
		}
		flat, err := tensors.CopyFlatData[float32](out[0])
		out[0].MustFinalizeAll()
		if err != nil {
			return err
		}
		for i, r := range part {
			set(r, flat[i*c.Lc:i*c.Lc+len(r.Completion)])
		}
	}
	return nil
}

func (p *logProber) close() {
	if p != nil && p.exec != nil {
		p.exec.Finalize()
	}
}
