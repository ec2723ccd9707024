package model

import (
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gm "github.com/gomlx/gomlx/ml/model"
)

// In bfloat16 the cached path (prefill + decode steps) stays within bf16 precision of the float32
// full forward, as the bf16 full forward does: the cache is read in bf16, scores and the softmax
// are float32, the probabilities are rounded to bf16 (transformers' eager attention in bf16).
func TestBFloat16CachedForwardIsCloseToFloat32(t *testing.T) {
	for _, tc := range []struct {
		name, config string
	}{{"qwen2", tinyQwen2}, {"llama", tinyLlama}} {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.config, Options{}, 12)
			bf, err := m.Clone()
			if err != nil {
				t.Fatal(err)
			}
			bf.opts.DType = dtypes.BFloat16
			b := testBatch(m.Config.VocabSize, 13)
			full, err := m.ComputeLogits(b)
			if err != nil {
				t.Fatal(err)
			}
			want := toF64(tensors.MustCopyFlatData[float32](full), 3, 7, m.Config.VocabSize)
			cached, err := bf.ComputeLogitsCached(b, 3)
			if err != nil {
				t.Fatal(err)
			}
			bfFull, err := bf.ComputeLogits(b)
			if err != nil {
				t.Fatal(err)
			}
			eCached := maxRelError(tensors.MustCopyFlatData[float32](cached), want, b.Mask)
			eFull := maxRelError(tensors.MustCopyFlatData[float32](bfFull), want, b.Mask)
			if eCached > 0.05 || eCached < 1e-6 {
				t.Fatalf("bf16 cached vs f32 full: max relative error %.3g, want a bf16-sized difference (1e-6, 0.05]", eCached)
			}
			t.Logf("max relative logits error vs float32: bf16 cached %.3g, bf16 full forward %.3g", eCached, eFull)
		})
	}
}

// The cached attention never makes a float32 copy of the bf16 cache: every node that reads a
// cache-shaped bf16 tensor and yields float32 is a DotGeneral (mixed-dtype product, float32
// accumulation). Such copies would double or triple the bytes a decode step reads.
func TestCachedAttentionReadsTheCacheInComputeDType(t *testing.T) {
	m := randomModel(t, tinyQwen2, Options{DType: dtypes.BFloat16}, 14)
	const rows, slots = 2, 9
	cacheShape := m.CacheShape(rows, slots)
	var dots, violations int
	exec, err := gm.NewExec(m.Backend(), m.Store, func(_ *gm.Scope, in []*Node) []*Node {
		hidden, cache := m.ForwardCached(Inputs{Tokens: in[0], Positions: in[1], Mask: in[2]}, in[3], CacheFromNodes(in[4:]))
		out := append([]*Node{m.Logits(hidden)}, cache.Nodes()...)
		for _, n := range out[0].Graph().Nodes() {
			if n.NumOutputs() != 1 || n.DType() != dtypes.Float32 {
				continue
			}
			for _, x := range n.Inputs() {
				if !x.Shape().Equal(cacheShape) {
					continue
				}
				if n.Type() == NodeTypeDotGeneral {
					dots++
				} else {
					violations++
					t.Errorf("node %s makes a float32 %s from the bf16 cache tensor %s", n.Type(), n.Shape(), x.Shape())
				}
			}
		}
		return out
	})
	if err != nil {
		t.Fatal(err)
	}
	args := []shapes.Shape{shapes.Make(dtypes.Int32, rows, 1), shapes.Make(dtypes.Int32, rows, 1),
		shapes.Make(dtypes.Int32, rows, slots), shapes.Make(dtypes.Int32)}
	for range m.NumCacheTensors() {
		args = append(args, cacheShape)
	}
	if _, err := exec.Compile(args...); err != nil {
		t.Fatal(err)
	}
	// Per layer: the scores read the keys; the values are read by a bf16 product.
	if dots != m.Config.NumHiddenLayers || violations != 0 {
		t.Fatalf("%d float32 products read the cache (want one per layer, %d), %d float32 copies", dots, m.Config.NumHiddenLayers, violations)
	}
}
