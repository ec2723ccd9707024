package grpo

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
)

// TestTokenLogProbsMatchesReference checks values against the float64 reference for chunk sizes
// that divide N, leave a ragged last chunk, and exceed N.
func TestTokenLogProbsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const b, tt, d, v = 3, 7, 5, 11
	in := newRefInputs(rng, b, tt, d, v, 0.7)
	wantLP, wantEnt := refLogProbs(in.Hidden, in.Proj, in.Targets, b*tt, d, v, in.Temperature)
	for _, tc := range []struct {
		chunk int
		loop  ChunkLoop
	}{{0, LoopWhile}, {1, LoopWhile}, {4, LoopWhile}, {7, LoopWhile}, {21, LoopWhile}, {100, LoopWhile},
		{0, LoopUnrolled}, {1, LoopUnrolled}, {4, LoopUnrolled}, {100, LoopUnrolled}} {
		chunk := tc.chunk
		out := runGraph(t, func(g *Graph, x []*Node) []*Node {
			lp, ent := TokenLogProbs(x[0], x[1], x[2], LogProbsConfig{Temperature: in.Temperature, ChunkSize: chunk, Entropy: true, Loop: tc.loop})
			return []*Node{lp, ent}
		}, f64Tensor(in.Hidden, b, tt, d), f64Tensor(in.Proj, v, d), i32Tensor(in.Targets, b, tt))
		if got := out[0].Shape().Dimensions; len(got) != 2 || got[0] != b || got[1] != tt {
			t.Fatalf("chunk %d: logp shape %v, want [%d %d]", chunk, got, b, tt)
		}
		lp, ent := f64Flat(t, out[0]), f64Flat(t, out[1])
		for k := range wantLP {
			if e := relErr(lp[k], wantLP[k], 1e-3); e > 1e-12 {
				t.Fatalf("chunk %d (loop %d) token %d: logp %.15g, want %.15g (rel err %.2e)", chunk, tc.loop, k, lp[k], wantLP[k], e)
			}
			if e := relErr(ent[k], wantEnt[k], 1e-3); e > 1e-12 {
				t.Fatalf("chunk %d (loop %d) token %d: entropy %.15g, want %.15g (rel err %.2e)", chunk, tc.loop, k, ent[k], wantEnt[k], e)
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
	for _, tc := range []struct {
		name     string
		chunk    int
		entropy  bool
		useLogp  bool
		useEntro bool
		loop     ChunkLoop
	}{
		{"logp+entropy/ragged", 3, true, true, true, LoopWhile},
		{"logp only", 4, true, true, false, LoopWhile},
		{"entropy only", 10, true, false, true, LoopWhile},
		{"no entropy output", 0, false, true, false, LoopWhile},
		{"unrolled/logp+entropy/ragged", 3, true, true, true, LoopUnrolled},
		{"unrolled/entropy only", 4, true, false, true, LoopUnrolled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := runGraph(t, func(g *Graph, x []*Node) []*Node {
				lp, ent := TokenLogProbs(x[0], x[1], x[2], LogProbsConfig{Temperature: in.Temperature, ChunkSize: tc.chunk, Entropy: tc.entropy, Loop: tc.loop})
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

// TestTokenLogProbsBFloat16 runs bf16 states and weights (a real model's storage dtype): the
// products accumulate in float32 and the outputs are float32, so they match the float64 reference
// on the bf16-rounded inputs to float32 precision; gradients come back in bf16.
func TestTokenLogProbsBFloat16(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const b, tt, d, v = 2, 6, 8, 40
	in := newRefInputs(rng, b, tt, d, v, 0.6)
	hb, pb := make([]bfloat16.BFloat16, len(in.Hidden)), make([]bfloat16.BFloat16, len(in.Proj))
	for i, x := range in.Hidden {
		hb[i] = bfloat16.FromFloat32(float32(x))
		in.Hidden[i] = hb[i].Float64()
	}
	for i, x := range in.Proj {
		pb[i] = bfloat16.FromFloat32(float32(x))
		in.Proj[i] = pb[i].Float64()
	}
	wantLP, wantEnt := refLogProbs(in.Hidden, in.Proj, in.Targets, b*tt, d, v, in.Temperature)
	out := runGraph(t, func(g *Graph, x []*Node) []*Node {
		lp, ent := TokenLogProbs(x[0], x[1], x[2], LogProbsConfig{Temperature: in.Temperature, ChunkSize: 5, Entropy: true})
		grads := Gradient(ReduceAllSum(lp), x[0], x[1])
		return []*Node{lp, ent, grads[0], grads[1]}
	}, tensors.FromFlatDataAndDimensions(hb, b, tt, d), tensors.FromFlatDataAndDimensions(pb, v, d), i32Tensor(in.Targets, b, tt))
	if out[0].DType() != dtypes.Float32 || out[2].DType() != dtypes.BFloat16 || out[3].DType() != dtypes.BFloat16 {
		t.Fatalf("dtypes: logp %s (want float32), ∂hidden %s and ∂proj %s (want bfloat16)", out[0].DType(), out[2].DType(), out[3].DType())
	}
	lp, ent := f32Flat(t, out[0]), f32Flat(t, out[1])
	for k := range wantLP {
		if e := relErr(float64(lp[k]), wantLP[k], 1); e > 2e-6 {
			t.Fatalf("token %d: logp %v, want %v (err %.2e)", k, lp[k], wantLP[k], e)
		}
		if e := relErr(float64(ent[k]), wantEnt[k], 1); e > 2e-6 {
			t.Fatalf("token %d: entropy %v, want %v (err %.2e)", k, ent[k], wantEnt[k], e)
		}
	}
	// bf16 gradients: within bf16 rounding (2^-8 relative) of the float64 finite differences,
	// normwise.
	sumLP := func(hidden, proj []float64) float64 {
		lp, _ := refLogProbs(hidden, proj, in.Targets, b*tt, d, v, in.Temperature)
		var s float64
		for _, x := range lp {
			s += x
		}
		return s
	}
	for _, g := range []struct {
		name string
		got  *tensors.Tensor
		x    []float64
		f    func([]float64) float64
	}{
		{"hidden", out[2], in.Hidden, func(x []float64) float64 { return sumLP(x, in.Proj) }},
		{"proj", out[3], in.Proj, func(x []float64) float64 { return sumLP(in.Hidden, x) }},
	} {
		got := tensors.MustCopyFlatData[bfloat16.BFloat16](g.got)
		var maxErr, maxRef float64
		for i := range g.x {
			orig := g.x[i]
			g.x[i] = orig + 1e-5
			fp := g.f(g.x)
			g.x[i] = orig - 1e-5
			fm := g.f(g.x)
			g.x[i] = orig
			want := (fp - fm) / 2e-5
			maxErr = math.Max(maxErr, math.Abs(got[i].Float64()-want))
			maxRef = math.Max(maxRef, math.Abs(want))
		}
		if maxErr > 8e-3*maxRef {
			t.Fatalf("bf16 ∂/∂%s: max error %.3g for max |∂| %.3g, beyond bf16 rounding", g.name, maxErr, maxRef)
		}
	}
}

func TestTokenLogProbsShapeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		proj []int
		tgt  []int
		want string
	}{
		{"proj transposed", []int{4, 9}, []int{2, 3}, "[V, D]"},
		{"targets shape", []int{9, 4}, []int{3, 2}, "targets"},
	} {
		err := runGraphNoFatal(func(g *Graph, x []*Node) []*Node {
			lp, _ := TokenLogProbs(x[0], x[1], x[2], LogProbsConfig{Temperature: 1})
			return []*Node{lp}
		}, f64Tensor(make([]float64, 24), 2, 3, 4), f64Tensor(make([]float64, 36), tc.proj...), i32Tensor(make([]int32, 6), tc.tgt...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tc.name, err, tc.want)
		}
	}
	err := runGraphNoFatal(func(g *Graph, x []*Node) []*Node {
		lp, _ := TokenLogProbs(x[0], x[1], x[2], LogProbsConfig{})
		return []*Node{lp}
	}, f64Tensor(make([]float64, 8), 2, 4), f64Tensor(make([]float64, 12), 3, 4), i32Tensor(make([]int32, 2), 2))
	if err == nil || !strings.Contains(err.Error(), "temperature") {
		t.Errorf("temperature 0: got %v", err)
	}
}

// TestTokenLogProbsScalarCacheIsolation guards the GoMLX scalar-cache pitfall: scalar constants
// made while building the While closures must not leak into main-function code built afterwards
// (Gradient's seed 1.0, user code's AddScalar...).
func TestTokenLogProbsScalarCacheIsolation(t *testing.T) {
	out := runGraph(t, func(g *Graph, x []*Node) []*Node {
		lp, ent := TokenLogProbs(x[0], x[1], x[2], LogProbsConfig{Temperature: 1, ChunkSize: 2, Entropy: true})
		obj := ReduceAllSum(AddScalar(MulScalar(Add(lp, ent), 1), 1))
		return []*Node{obj, Gradient(obj, x[0])[0]}
	}, f64Tensor([]float64{1, 2, 3, 4, 5, 6}, 3, 2), f64Tensor([]float64{1, 0, 0, 1, 1, 1}, 3, 2), i32Tensor([]int32{0, 1, 2}, 3))
	if got := f64Flat(t, out[0])[0]; math.IsNaN(got) {
		t.Fatal("objective is NaN")
	}
}

// TestRowSum covers the two-level row sum's paths: a width divisible by the block, one with a
// ragged tail, and one too narrow to split.
func TestRowSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, cols := range []int{1024, 1000, 300, 40, 20} {
		x := make([]float64, 3*cols)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		out := runGraph(t, func(g *Graph, in []*Node) []*Node { return []*Node{rowSum(in[0])} }, f64Tensor(x, 3, cols))
		if dims := out[0].Shape().Dimensions; len(dims) != 2 || dims[0] != 3 || dims[1] != 1 {
			t.Fatalf("cols %d: shape %v, want [3 1]", cols, dims)
		}
		got := f64Flat(t, out[0])
		for r := range 3 {
			var want float64
			for _, v := range x[r*cols : (r+1)*cols] {
				want += v
			}
			if math.Abs(got[r]-want) > 1e-12 {
				t.Fatalf("cols %d row %d: sum %v, want %v", cols, r, got[r], want)
			}
		}
	}
}
