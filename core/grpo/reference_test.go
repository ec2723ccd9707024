package grpo

// An independent float64 reference of the GRPO objective in plain Go (no GoMLX), written from the
// TRL formulas: selective_log_softmax / entropy_from_logits (trl/trainer/utils.py), the per-token
// loss and its aggregations (TRL HEAD grpo_trainer.py:2991-3150, v0.15.2 grpo_trainer.py:692-720).
// The graph code is compared against it, values and (through finite differences) gradients.

import (
	"math"
	"math/rand/v2"
)

// refInputs is one random problem: B rows of T tokens, D hidden, V vocabulary.
type refInputs struct {
	B, T, D, V  int
	Hidden      []float64 // [B*T*D]
	Proj        []float64 // [V*D]
	Targets     []int32   // [B*T]
	Temperature float64
	Mask        []float64 // [B*T]
	Advantages  []float64 // [B]
	Old         []float64 // [B*T] or nil (then old = stop-gradient of logp)
	Ref         []float64 // [B*T] or nil
	Weights     []float64 // [B*T] importance weights on the policy term, or nil
}

// refLogProbs returns per-token log-probs and entropies of the tempered softmax.
func refLogProbs(hidden, proj []float64, targets []int32, n, d, v int, temp float64) (lp, ent []float64) {
	lp = make([]float64, n)
	ent = make([]float64, n)
	z := make([]float64, v)
	for t := range n {
		h := hidden[t*d : (t+1)*d]
		maxZ := math.Inf(-1)
		for j := range v {
			var s float64
			for k := range d {
				s += h[k] * proj[j*d+k]
			}
			z[j] = s / temp
			maxZ = math.Max(maxZ, z[j])
		}
		var sum float64
		for j := range v {
			sum += math.Exp(z[j] - maxZ)
		}
		lse := maxZ + math.Log(sum)
		lp[t] = z[targets[t]] - lse
		var h2 float64
		for j := range v {
			l := z[j] - lse
			h2 -= math.Exp(l) * l
		}
		ent[t] = h2
	}
	return lp, ent
}

// refLossResult holds the reference loss and its diagnostics.
type refLossResult struct {
	Loss                          float64
	KLSum, Tokens                 float64
	ClipLow, ClipHigh, ClipRegion float64
}

// refLoss computes the loss of cfg for per-token log-probs lp (old/ref as in in, nil old meaning
// old = lp, i.e. ratio 1). numItems is dapo's global active-token count.
func refLoss(in *refInputs, lp []float64, cfg LossConfig, numItems float64) refLossResult {
	var res refLossResult
	B, T := in.B, in.T
	epsLow := cfg.Epsilon
	epsHigh := cfg.EpsilonHigh
	if epsHigh == 0 {
		epsHigh = epsLow
	}
	ga := float64(max(cfg.GradientAccumulationSteps, 1))
	perTok := make([]float64, B*T)
	for i := range B {
		a := in.Advantages[i]
		for t := range T {
			k := i*T + t
			old := lp[k]
			if in.Old != nil {
				old = in.Old[k]
			}
			r := math.Exp(lp[k] - old)
			r2 := math.Min(math.Max(r, 1-epsLow), 1+epsHigh)
			if cfg.Delta > 0 {
				r = math.Min(r, cfg.Delta)
			}
			l := -math.Min(r*a, r2*a)
			if in.Weights != nil {
				l *= in.Weights[k]
			}
			if cfg.Beta != 0 {
				x := in.Ref[k] - lp[k]
				kl := math.Exp(x) - x - 1
				l += cfg.Beta * kl
				res.KLSum += in.Mask[k] * kl
			}
			perTok[k] = l
			res.Tokens += in.Mask[k]
			low := r < 1-epsLow && a < 0
			high := r > 1+epsHigh && a > 0
			if low {
				res.ClipLow += in.Mask[k]
			}
			if high {
				res.ClipHigh += in.Mask[k]
			}
			if low || high {
				res.ClipRegion += in.Mask[k]
			}
		}
	}
	var total float64
	for k := range perTok {
		total += perTok[k] * in.Mask[k]
	}
	switch cfg.Type {
	case LossGRPO:
		var sum float64
		for i := range B {
			var s, m float64
			for t := range T {
				s += perTok[i*T+t] * in.Mask[i*T+t]
				m += in.Mask[i*T+t]
			}
			sum += s / math.Max(m, 1)
		}
		res.Loss = sum / float64(B) / ga
	case LossBNPO:
		res.Loss = total / math.Max(res.Tokens, 1) / ga
	case LossDrGRPO:
		res.Loss = total / float64(B*cfg.MaxCompletionLength) / ga
	case LossDAPO:
		res.Loss = total / math.Max(numItems, 1)
	default:
		panic("unknown loss type " + string(cfg.Type))
	}
	return res
}

// refObjective is the scalar whose gradient the tests check: the loss of cfg on top of the
// reference log-probs (plus, with entropyCoef ≠ 0, −entropyCoef·mean masked entropy, which checks
// the entropy gradient path). With in.Old == nil the ratio is exp(lp − sg(lp)), whose value is 1
// but whose derivative is that of exp(lp − c) at lp = c; finite differences must hold the old
// log-probs fixed at the unperturbed values, which the caller does by passing them as in.Old.
func refObjective(in *refInputs, cfg LossConfig, numItems, entropyCoef float64) float64 {
	lp, ent := refLogProbs(in.Hidden, in.Proj, in.Targets, in.B*in.T, in.D, in.V, in.Temperature)
	loss := refLoss(in, lp, cfg, numItems).Loss
	if entropyCoef != 0 {
		var s, m float64
		for k := range ent {
			s += ent[k] * in.Mask[k]
			m += in.Mask[k]
		}
		loss -= entropyCoef * s / math.Max(m, 1)
	}
	return loss
}

// newRefInputs draws a random problem. Hidden/proj scales give logits of order 1-3.
func newRefInputs(rng *rand.Rand, b, t, d, v int, temp float64) *refInputs {
	in := &refInputs{B: b, T: t, D: d, V: v, Temperature: temp}
	in.Hidden = make([]float64, b*t*d)
	for i := range in.Hidden {
		in.Hidden[i] = rng.NormFloat64()
	}
	in.Proj = make([]float64, v*d)
	for i := range in.Proj {
		in.Proj[i] = rng.NormFloat64() / math.Sqrt(float64(d)) * 1.5
	}
	in.Targets = make([]int32, b*t)
	for i := range in.Targets {
		in.Targets[i] = int32(rng.IntN(v))
	}
	in.Advantages = make([]float64, b)
	for i := range in.Advantages {
		in.Advantages[i] = rng.NormFloat64()
	}
	in.Mask = make([]float64, b*t)
	for i := range in.Mask {
		in.Mask[i] = 1
	}
	return in
}

// relErr is |a−b| / max(|b|, floor): relative error, with an absolute floor for values near 0.
func relErr(a, b, floor float64) float64 {
	return math.Abs(a-b) / math.Max(math.Abs(b), floor)
}
