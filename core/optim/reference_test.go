package optim

import "math"

// This file is an independent float64 implementation of torch.optim.AdamW (torch/optim/adam.py,
// _single_tensor_adam with decoupled_weight_decay) together with HF Trainer's gradient
// accumulation and torch.nn.utils.clip_grad_norm_, written from the formulas and not from the
// graph code. The tests run it side by side with the GoMLX graphs.

// refParam is one parameter and its AdamW state, in float64.
type refParam struct {
	path  string
	p     []float64
	m, v  []float64
	decay bool
}

type refAdamW struct {
	cfg    Config
	params []*refParam
	step   int
}

// update applies one AdamW step with grads (already combined over micro-batches) and returns
// the pre-clip global norm.
func (r *refAdamW) update(lr float64, grads [][]float64) float64 {
	// clip_grad_norm_(max_norm, norm_type=2): total = norm of the per-tensor norms.
	var perTensor []float64
	for _, g := range grads {
		var s float64
		for _, x := range g {
			s += x * x
		}
		perTensor = append(perTensor, math.Sqrt(s))
	}
	var total float64
	for _, n := range perTensor {
		total += n * n
	}
	total = math.Sqrt(total)
	if r.cfg.MaxGradNorm > 0 {
		coef := math.Min(r.cfg.MaxGradNorm/(total+1e-6), 1)
		for _, g := range grads {
			for i := range g {
				g[i] *= coef
			}
		}
	}
	r.step++
	b1, b2 := r.cfg.Beta1, r.cfg.Beta2
	bc1 := 1 - math.Pow(b1, float64(r.step))
	bc2 := 1 - math.Pow(b2, float64(r.step))
	stepSize := lr / bc1
	for k, rp := range r.params {
		g := grads[k]
		for i := range rp.p {
			if rp.decay && r.cfg.WeightDecay != 0 {
				rp.p[i] *= 1 - lr*r.cfg.WeightDecay
			}
			rp.m[i] = rp.m[i] + (1-b1)*(g[i]-rp.m[i])
			rp.v[i] = b2*rp.v[i] + (1-b2)*g[i]*g[i]
			denom := math.Sqrt(rp.v[i])/math.Sqrt(bc2) + r.cfg.Epsilon
			rp.p[i] -= stepSize * rp.m[i] / denom
		}
	}
	return total
}

// The test model: pred = (x·W + b) ⊙ n, loss = mean((pred − y)²) over batch and features.
// W is [in, out] (decayed), b and n are [out] (a bias and a norm weight: not decayed).
const (
	refIn  = 3
	refOut = 4
)

// refGrads returns dloss/dW, dloss/db, dloss/dn for a batch (x is [B][in], y is [B][out]).
func refGrads(W, b, n []float64, x, y [][]float64) (loss float64, gW, gb, gn []float64) {
	B := len(x)
	gW = make([]float64, refIn*refOut)
	gb = make([]float64, refOut)
	gn = make([]float64, refOut)
	scale := 1 / float64(B*refOut)
	for bi := range B {
		for j := range refOut {
			z := b[j]
			for i := range refIn {
				z += x[bi][i] * W[i*refOut+j]
			}
			r := z*n[j] - y[bi][j]
			loss += r * r * scale
			dpred := 2 * r * scale
			gn[j] += dpred * z
			dz := dpred * n[j]
			gb[j] += dz
			for i := range refIn {
				gW[i*refOut+j] += x[bi][i] * dz
			}
		}
	}
	return loss, gW, gb, gn
}
