package model

import (
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gm "github.com/gomlx/gomlx/ml/model"
)

// inferenceCopy makes and fills m's inference copy.
func inferenceCopy(t *testing.T, m *Model) *Model {
	t.Helper()
	inf := m.Inference()
	exec, err := gm.NewExec(m.Backend(), m.Store, func(_ *gm.Scope, g *Graph) []*Node { return m.InferenceWeights(g) })
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Call()
	if err != nil {
		t.Fatal(err)
	}
	if err := inf.SetWeights(out); err != nil {
		t.Fatal(err)
	}
	return inf
}

// The inference copy (compute dtype, q/k/v and gate/up stacked) computes the same logits as the
// model, through the full and the cached forward: exactly the same products, so in float32 the
// logits agree to rounding; in bfloat16 it stays within bf16 precision of the float32 model.
// Its layout: one stacked weight (and bias) per group, rows in q, k, v / gate, up order.
func TestInferenceCopyComputesTheSameLogits(t *testing.T) {
	for _, tc := range []struct {
		name, config string
	}{{"qwen2", tinyQwen2}, {"llama", tinyLlama}} {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.config, Options{}, 21)
			inf := inferenceCopy(t, m)
			names := inf.TensorNames()
			c := m.Config
			qd, kvd := c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
			w := inf.Variable("model.layers.1.self_attn.qkv_proj.weight")
			if w == nil || !slices.Equal(w.Shape().Dimensions, []int{qd + 2*kvd, c.HiddenSize}) ||
				slices.Contains(names, "model.layers.0.self_attn.k_proj.weight") || slices.Contains(names, "model.layers.0.mlp.up_proj.weight") ||
				(c.QKVBias != slices.Contains(names, "model.layers.0.self_attn.qkv_proj.bias")) ||
				inf.NumParameters() != m.NumParameters() || len(names) != len(m.TensorNames())-c.NumHiddenLayers*(3+2*boolInt(c.QKVBias)+boolInt(c.MLPBias)) {
				t.Fatalf("inference copy tensors %v", names)
			}
			// Rows of the stacked weight: v_proj's rows come last.
			stackedW := tensors.MustCopyFlatData[float32](w.MustValue())
			vw := tensors.MustCopyFlatData[float32](m.Variable("model.layers.1.self_attn.v_proj.weight").MustValue())
			if !slices.Equal(stackedW[(qd+kvd)*c.HiddenSize:], vw) {
				t.Fatal("the stacked q/k/v weight does not end with v_proj's rows")
			}
			b := testBatch(c.VocabSize, 22)
			for _, cached := range []bool{false, true} {
				run := func(x *Model) []float32 {
					var out *tensors.Tensor
					var err error
					if cached {
						out, err = x.ComputeLogitsCached(b, 2)
					} else {
						out, err = x.ComputeLogits(b)
					}
					if err != nil {
						t.Fatal(err)
					}
					return tensors.MustCopyFlatData[float32](out)
				}
				want := toF64(run(m), 3, 7, c.VocabSize)
				if e := maxRelError(run(inf), want, b.Mask); e > 1e-6 {
					t.Fatalf("cached=%t: inference copy vs model: max relative error %.3g", cached, e)
				}
			}
			if err := inf.Save(t.TempDir(), SaveOptions{}); err == nil {
				t.Fatal("saving an inference copy must fail")
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A bfloat16 inference copy holds bf16 tensors and stays within bf16 precision of the float32
// model.
func TestBFloat16InferenceCopy(t *testing.T) {
	m := randomModel(t, tinyQwen2, Options{}, 23)
	bf, err := m.Clone()
	if err != nil {
		t.Fatal(err)
	}
	bf.opts.DType = dtypes.BFloat16
	inf := inferenceCopy(t, bf)
	for _, v := range inf.Variables() {
		if v.Shape().DType != dtypes.BFloat16 {
			t.Fatalf("%s is %s", v.Path(), v.Shape())
		}
	}
	b := testBatch(m.Config.VocabSize, 24)
	full, err := m.ComputeLogits(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := inf.ComputeLogitsCached(b, 3)
	if err != nil {
		t.Fatal(err)
	}
	e := maxRelError(tensors.MustCopyFlatData[float32](got), toF64(tensors.MustCopyFlatData[float32](full), 3, 7, m.Config.VocabSize), b.Mask)
	if e > 0.05 || e < 1e-6 {
		t.Fatalf("bf16 inference copy vs f32: max relative error %.3g, want (1e-6, 0.05]", e)
	}
}
