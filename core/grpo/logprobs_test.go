package grpo

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// TestTokenLogProbsMatchesReference checks values against the float64 reference for chunk sizes
// that divide N, leave a ragged last chunk, and exceed N.
func TestTokenLogProbsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const b, tt, d, v = 3, 7, 5, 11
	in := newRefInputs(rng, b, tt, d, v, 0.7)
	wantLP, wantEnt := refLogProbs(in.Hidden, in.Proj, in.Targets, b*tt, d, v, in.Temperature)
	for _, chunk := range []int{0, 1, 4, 7, 21, 100} {
		out := runGraph(t, func(g *Graph, x []*Node) []*Node {
			lp, ent := TokenLogProbs(x[0], x[1], x[2], LogProbsConfig{Temperature: in.Temperature, ChunkSize: chunk, Entropy: true})
			return []*Node{lp, ent}
		}, f64Tensor(in.Hidden, b, tt, d), f64Tensor(in.Proj, v, d), i32Tensor(in.Targets, b, tt))
		if got := out[0].Shape().Dimensions; len(got) != 2 || got[0] != b || got[1] != tt {
			t.Fatalf("chunk %d: logp shape %v, want [%d %d]", chunk, got, b, tt)
		}
		lp, ent := f64Flat(t, out[0]), f64Flat(t, out[1])
		for k := range wantLP {
			if e := relErr(lp[k], wantLP[k], 1e-3); e > 1e-12 {
				t.Fatalf("chunk %d token %d: logp %.15g, want %.15g (rel err %.2e)", chunk, k, lp[k], wantLP[k], e)
			}
			if e := relErr(ent[k], wantEnt[k], 1e-3); e > 1e-12 {
				t.Fatalf("chunk %d token %d: entropy %.15g, want %.15g (rel err %.2e)", chunk, k, ent[k], wantEnt[k], e)
			}
		}
	}
}

// TestTokenLogProbsGradient checks ∂/∂hidden and ∂/∂proj of Σ a·logp + Σ c·entropy against
// central finite differences of the float64 reference.
func TestTokenLogProbsGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const b, tt, d, v = 2, 5, 4, 9
	in := newRefInputs(rng, b, tt, d, v, 0.8)
	n := b * tt
	a := make([]float64, n)
	c := make([]float64, n)
	for i := range a {
		a[i], c[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	objective := func(hidden, proj []float64) float64 {
		lp, ent := refLogProbs(hidden, proj, in.Targets, n, d, v, in.Temperature)
		var s float64
		for i := range lp {
			s += a[i]*lp[i] + c[i]*ent[i]
		}
		return s
	}
	for _, tc := range []struct {
		name     string
		chunk    int
		entropy  bool
		useLogp  bool
		useEntro bool
	}{
		{"logp+entropy/ragged", 3, true, true, true},
		{"logp only", 4, true, true, false},
		{"entropy only", 10, true, false, true},
		{"no entropy output", 0, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := runGraph(t, func(g *Graph, x []*Node) []*Node {
				lp, ent := TokenLogProbs(x[0], x[1], x[2], LogProbsConfig{Temperature: in.Temperature, ChunkSize: tc.chunk, Entropy: tc.entropy})
				obj := ScalarZero(g, lp.DType())
				if tc.useLogp {
					obj = Add(obj, ReduceAllSum(Mul(lp, x[3])))
				}
				if tc.useEntro {
					obj = Add(obj, ReduceAllSum(Mul(ent, x[4])))
				}
				grads := Gradient(obj, x[0], x[1])
				return []*Node{obj, grads[0], grads[1]}
			}, f64Tensor(in.Hidden, b, tt, d), f64Tensor(in.Proj, v, d), i32Tensor(in.Targets, b, tt),
				f64Tensor(a, b, tt), f64Tensor(c, b, tt))
			ref := func(hidden, proj []float64) float64 {
				lp, ent := refLogProbs(hidden, proj, in.Targets, n, d, v, in.Temperature)
				var s float64
				for i := range lp {
					if tc.useLogp {
						s += a[i] * lp[i]
					}
					if tc.useEntro {
						s += c[i] * ent[i]
					}
				}
				return s
			}
			_ = objective
			checkGradient(t, "hidden", f64Flat(t, out[1]), in.Hidden, func(x []float64) float64 { return ref(x, in.Proj) })
			checkGradient(t, "proj", f64Flat(t, out[2]), in.Proj, func(x []float64) float64 { return ref(in.Hidden, x) })
		})
	}
}

// checkGradient compares got with central finite differences of f around x (x is restored).
func checkGradient(t *testing.T, name string, got, x []float64, f func([]float64) float64) {
	t.Helper()
	const h = 1e-5
	var maxErr float64
	for i := range x {
		orig := x[i]
		x[i] = orig + h
		fp := f(x)
		x[i] = orig - h
		fm := f(x)
		x[i] = orig
		want := (fp - fm) / (2 * h)
		// Central differences are accurate to ~h² and to rounding ~1e-16·|f|/h; compare with a
		// floor that keeps near-zero components from dominating.
		e := math.Abs(got[i]-want) / math.Max(math.Abs(want), 1e-2)
		maxErr = math.Max(maxErr, e)
		if e > 1e-6 {
			t.Fatalf("∂/∂%s[%d] = %.12g, finite differences give %.12g (rel err %.2e)", name, i, got[i], want, e)
		}
	}
	t.Logf("∂/∂%s: %d components, max rel err vs finite differences %.2e", name, len(x), maxErr)
}
