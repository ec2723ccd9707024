package grpo

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/support/exceptions"
)

// LossType selects how per-token losses are aggregated (TRL GRPOConfig.loss_type).
type LossType string

// Loss types. Their reductions, for per-token losses L and completion mask m over the B sequences
// of one micro-batch (TRL HEAD grpo_trainer.py:3124-3143):
//
//	grpo     mean_i( Σ_t m·L / max(Σ_t m, 1) ) / GA   per-sequence token mean, then mean over
//	                                                   sequences (RLT trainers/grpo.py:1199-1200,1245;
//	                                                   TRL v0.15.2 grpo_trainer.py:713)
//	bnpo     Σ m·L / max(Σ m, 1) / GA                  token mean over the micro-batch
//	dr_grpo  Σ m·L / (B · max_completion_length) / GA  Dr. GRPO (arXiv 2503.20783)
//	dapo     Σ m·L / max(N_items, 1)                   token mean over the whole optimizer step
//	                                                   (DAPO, arXiv 2503.14476; TRL's default)
//
// GA is the number of micro-batches accumulated into one optimizer step, N_items the number of
// active completion tokens in all of them.
const (
	LossGRPO   LossType = "grpo"
	LossBNPO   LossType = "bnpo"
	LossDrGRPO LossType = "dr_grpo"
	LossDAPO   LossType = "dapo"
)

// LossConfig holds the GRPOConfig knobs of the objective.
type LossConfig struct {
	Type LossType
	// Beta is the weight β of the k3 KL penalty against the reference model. 0 drops the term:
	// no reference log-probs are needed (the caller skips the reference forward pass).
	Beta float64
	// Epsilon is the lower clip ε_low of the importance ratio (TRL epsilon, default 0.2).
	Epsilon float64
	// EpsilonHigh is the upper clip ε_high (DAPO's clip-higher; TRL default: = Epsilon). 0 means
	// Epsilon.
	EpsilonHigh float64
	// Delta, when > 0, also caps the unclipped ratio at δ (INTELLECT-2 two-sided clipping, TRL
	// delta); it must exceed 1 + EpsilonHigh to make sense, and at least 1.
	Delta float64
	// MaxCompletionLength is dr_grpo's constant normaliser (max_completion_length).
	MaxCompletionLength int
	// GradientAccumulationSteps divides the grpo, bnpo and dr_grpo losses so that summing the
	// gradients of the micro-batches of one optimizer step averages them (TRL divides by
	// current_gradient_accumulation_steps). 0 means 1. dapo normalises by NumItemsInBatch instead.
	GradientAccumulationSteps int
}

// EffectiveEpsilonHigh is EpsilonHigh, or Epsilon when EpsilonHigh is 0.
func (c LossConfig) EffectiveEpsilonHigh() float64 {
	if c.EpsilonHigh == 0 {
		return c.Epsilon
	}
	return c.EpsilonHigh
}

// Validate reports a configuration the loss cannot run with, naming the GRPOConfig key.
func (c LossConfig) Validate() error {
	var errs []error
	switch c.Type {
	case LossGRPO, LossBNPO, LossDrGRPO, LossDAPO:
	default:
		errs = append(errs, fmt.Errorf("loss_type %q is not one of grpo, bnpo, dr_grpo, dapo", c.Type))
	}
	if !(c.Beta >= 0) || math.IsInf(c.Beta, 0) {
		errs = append(errs, fmt.Errorf("beta = %v: must be a finite number >= 0 (0 disables the KL term)", c.Beta))
	}
	if !(c.Epsilon >= 0 && c.Epsilon < 1) {
		errs = append(errs, fmt.Errorf("epsilon = %v: must be in [0, 1) (the ratio is clipped to [1-epsilon, 1+epsilon_high])", c.Epsilon))
	}
	if !(c.EpsilonHigh >= 0) || math.IsInf(c.EpsilonHigh, 0) {
		errs = append(errs, fmt.Errorf("epsilon_high = %v: must be a finite number >= 0 (0 means epsilon)", c.EpsilonHigh))
	}
	if c.Delta != 0 && !(c.Delta >= 1) {
		errs = append(errs, fmt.Errorf("delta = %v: must be >= 1 (it caps the unclipped ratio; usually > 1+epsilon_high), or 0 to disable", c.Delta))
	}
	if c.Type == LossDrGRPO && c.MaxCompletionLength <= 0 {
		errs = append(errs, fmt.Errorf("max_completion_length = %d: dr_grpo divides by it, set it > 0", c.MaxCompletionLength))
	}
	if c.GradientAccumulationSteps < 0 {
		errs = append(errs, fmt.Errorf("gradient_accumulation_steps = %d: must be >= 1 (0 means 1)", c.GradientAccumulationSteps))
	}
	return errors.Join(errs...)
}

// LossInputs are the tensors of one micro-batch of B completions of T tokens.
type LossInputs struct {
	// LogProbs [B, T]: the policy's per-token log-probs (TokenLogProbs), carrying the gradient.
	LogProbs *Node
	// Mask [B, T]: 1 for completion tokens that count (see BuildCompletions), 0 elsewhere.
	Mask *Node
	// Advantages [B] (one per sequence) or [B, T] (per token).
	Advantages *Node
	// OldLogProbs [B, T]: log-probs of the policy that generated the batch, for the clipped
	// importance ratio when a generation is trained on more than once (num_iterations > 1) or
	// generated with older weights. nil means the ratio is exp(logp − sg(logp)) = 1 (TRL with
	// num_iterations = 1; RLT and TRL v0.15 always): value −A, gradient −A·∇logp, no clipping.
	OldLogProbs *Node
	// RefLogProbs [B, T]: the reference model's log-probs; required when Beta ≠ 0, ignored
	// otherwise.
	RefLogProbs *Node
	// Entropy [B, T], optional: the policy's per-token entropy, summed into the metrics.
	Entropy *Node
	// NumItemsInBatch, a scalar: for dapo, the number of active tokens (Σ mask) over every
	// micro-batch of the optimizer step (divide it by the number of data-parallel replicas if
	// their gradients are averaged). Required for dapo, ignored otherwise.
	NumItemsInBatch *Node
	// ImportanceWeights [B, T] or [B], optional: multiplies the policy term of each token before
	// the KL term is added (TRL's vLLM importance-sampling correction, grpo_trainer.py:3117-3118).
	ImportanceWeights *Node
}

// Indices into LossOutputs.Stats. Every entry is a sum over this micro-batch, so sums over
// micro-batches (and replicas) give the step's values; LossMetrics does that.
const (
	StatLoss       = iota // the loss value (as differentiated: already divided by GA or N_items)
	StatKLSum             // Σ m·KL_t (0 when Beta = 0)
	StatEntropySum        // Σ m·H_t (0 when Entropy is nil)
	StatTokens            // Σ m
	StatClipLow           // Σ m·[r_t < 1−ε_low and A < 0]
	StatClipHigh          // Σ m·[r_t > 1+ε_high and A > 0]
	StatClipRegion        // Σ m·[low or high]
	NumLossStats
)

// LossOutputs is what Loss builds.
type LossOutputs struct {
	// Loss is the scalar to differentiate.
	Loss *Node
	// PerTokenKL [B, T] is k3 (nil when Beta = 0).
	PerTokenKL *Node
	// Stats [NumLossStats] holds the Stat* sums, in LogProbs' dtype.
	Stats *Node
	// SeqClip [B, 2] is, per sequence, the masked mean of the low and high clipping indicators
	// (NaN for a sequence without active tokens), for TRL's clip_ratio/low_min and high_max.
	SeqClip *Node
}

// Loss builds the GRPO objective of one micro-batch (TRL HEAD grpo_trainer.py:3054-3143, loss
// types grpo/bnpo/dr_grpo/dapo):
//
//	r_t   = exp(logp_t − logp_old_t)                                importance ratio
//	r'_t  = clip(r_t, 1 − ε_low, 1 + ε_high)
//	L_t   = −min(min(r_t, δ)·A, r'_t·A) · w_t + β·KL_t               (min(r, δ) only with Delta)
//	KL_t  = exp(ref_t − logp_t) − (ref_t − logp_t) − 1              k3 estimator (RLT grpo.py:1190-1191)
//
// with w_t the optional ImportanceWeights, then the reduction of cfg.Type (see LossType). Without
// OldLogProbs, r_t = exp(logp − sg(logp)) = 1, so L_t = −A + β·KL_t with gradient −A∇logp + β∇KL:
// exactly RLT's and TRL v0.15's objective (RLT grpo.py:1193-1195; TRL v0.15.2 grpo_trainer.py:711-713).
// Sequences without active tokens count as zero in grpo's mean (TRL HEAD clamps Σ m at 1).
//
// It panics (GoMLX graph-building convention) on an invalid configuration or missing input.
func Loss(in LossInputs, cfg LossConfig) LossOutputs {
	if err := cfg.Validate(); err != nil {
		exceptions.Panicf("grpo.Loss: invalid configuration: %v", err)
	}
	lp := in.LogProbs
	if lp == nil || in.Mask == nil || in.Advantages == nil {
		exceptions.Panicf("grpo.Loss: LogProbs, Mask and Advantages are required")
	}
	if lp.Rank() != 2 {
		exceptions.Panicf("grpo.Loss: LogProbs must be [B, T], got %s", lp.Shape())
	}
	g := lp.Graph()
	dt := lp.DType()
	b, t := lp.Shape().Dim(0), lp.Shape().Dim(1)
	mask := perToken("Mask", in.Mask, b, t, dt, false)
	adv := perToken("Advantages", in.Advantages, b, t, dt, true)

	epsLow, epsHigh := cfg.Epsilon, cfg.EffectiveEpsilonHigh()
	old := StopGradient(lp)
	if in.OldLogProbs != nil {
		old = perToken("OldLogProbs", in.OldLogProbs, b, t, dt, false)
	}
	coef1 := Exp(Sub(lp, old))
	coef2 := ClipScalar(coef1, 1-epsLow, 1+epsHigh)
	if cfg.Delta > 0 {
		coef1 = MinScalar(coef1, cfg.Delta)
	}
	perTok := Neg(Min(Mul(coef1, adv), Mul(coef2, adv)))
	if in.ImportanceWeights != nil {
		perTok = Mul(perTok, perToken("ImportanceWeights", in.ImportanceWeights, b, t, dt, true))
	}

	var kl *Node
	if cfg.Beta != 0 {
		if in.RefLogProbs == nil {
			exceptions.Panicf("grpo.Loss: beta = %v needs RefLogProbs (the reference model's log-probs); set beta = 0 to train without a reference model", cfg.Beta)
		}
		x := Sub(perToken("RefLogProbs", in.RefLogProbs, b, t, dt, false), lp)
		kl = SubScalar(Sub(Exp(x), x), 1)
		perTok = Add(perTok, MulScalar(kl, cfg.Beta))
	}

	masked := Mul(perTok, mask)
	tokens := ReduceAllSum(mask)
	ga := float64(max(cfg.GradientAccumulationSteps, 1))
	var loss *Node
	switch cfg.Type {
	case LossGRPO:
		perSeq := Div(ReduceSum(masked, 1), MaxScalar(ReduceSum(mask, 1), 1))
		loss = DivScalar(ReduceAllMean(perSeq), ga)
	case LossBNPO:
		loss = DivScalar(Div(ReduceAllSum(masked), MaxScalar(tokens, 1)), ga)
	case LossDrGRPO:
		loss = DivScalar(ReduceAllSum(masked), float64(b*cfg.MaxCompletionLength)*ga)
	case LossDAPO:
		if in.NumItemsInBatch == nil {
			exceptions.Panicf("grpo.Loss: loss_type dapo needs NumItemsInBatch (active tokens in the whole optimizer step)")
		}
		if in.NumItemsInBatch.Shape().Size() != 1 {
			exceptions.Panicf("grpo.Loss: NumItemsInBatch must be a scalar, got %s", in.NumItemsInBatch.Shape())
		}
		items := Reshape(ConvertDType(in.NumItemsInBatch, dt))
		loss = Div(ReduceAllSum(masked), MaxScalar(items, 1))
	}

	// Diagnostics (TRL HEAD grpo_trainer.py:3224-3253), as sums so that micro-batches add up.
	zero := ScalarZero(g, dt)
	klSum, entSum := zero, zero
	if kl != nil {
		klSum = ReduceAllSum(Mul(kl, mask))
	}
	if in.Entropy != nil {
		entSum = ReduceAllSum(Mul(perToken("Entropy", in.Entropy, b, t, dt, false), mask))
	}
	isLow := ConvertDType(LogicalAnd(LessThan(coef1, Scalar(g, dt, 1-epsLow)), LessThan(adv, zero)), dt)
	isHigh := ConvertDType(LogicalAnd(GreaterThan(coef1, Scalar(g, dt, 1+epsHigh)), GreaterThan(adv, zero)), dt)
	isRegion := Max(isLow, isHigh)
	stats := Stack([]*Node{
		StatLoss:       StopGradient(loss),
		StatKLSum:      StopGradient(klSum),
		StatEntropySum: StopGradient(entSum),
		StatTokens:     tokens,
		StatClipLow:    ReduceAllSum(Mul(isLow, mask)),
		StatClipHigh:   ReduceAllSum(Mul(isHigh, mask)),
		StatClipRegion: ReduceAllSum(Mul(isRegion, mask)),
	}, 0)
	seqTokens := ReduceSum(mask, 1)
	seqClip := Stack([]*Node{
		Div(ReduceSum(Mul(isLow, mask), 1), seqTokens),
		Div(ReduceSum(Mul(isHigh, mask), 1), seqTokens),
	}, 1)
	out := LossOutputs{Loss: loss, Stats: StopGradient(stats), SeqClip: StopGradient(seqClip)}
	if kl != nil {
		out.PerTokenKL = kl
	}
	return out
}

// perToken converts x to dtype and checks it is [B, T]; with perSeq, [B] and [B, 1] are also
// accepted and returned as [B, 1] (broadcast over tokens).
func perToken(name string, x *Node, b, t int, dtype dtypes.DType, perSeq bool) *Node {
	x = ConvertDType(x, dtype)
	dims := x.Shape().Dimensions
	switch {
	case len(dims) == 2 && dims[0] == b && dims[1] == t:
		return x
	case perSeq && len(dims) == 1 && dims[0] == b:
		return InsertAxes(x, 1)
	case perSeq && len(dims) == 2 && dims[0] == b && dims[1] == 1:
		return x
	}
	if perSeq {
		exceptions.Panicf("grpo.Loss: %s must be [B]=[%d] or [B, T]=[%d, %d], got %s", name, b, b, t, x.Shape())
	}
	exceptions.Panicf("grpo.Loss: %s must be [B, T]=[%d, %d] like LogProbs, got %s", name, b, t, x.Shape())
	return nil
}
