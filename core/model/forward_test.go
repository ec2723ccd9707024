package model

import (
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/grpo-dev/grpo/core/model/internal/reference"
)

// The float32 GoMLX forward agrees with the float64 reference to well under the 1e-4 parity bar
// on left-padded batches, for both families.
func TestForwardMatchesFloat64Reference(t *testing.T) {
	for _, tc := range []struct {
		name, config string
	}{{"qwen2", tinyQwen2}, {"llama", tinyLlama}} {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.config, Options{}, 1)
			b := testBatch(m.Config.VocabSize, 2)
			got, err := m.ComputeLogits(b)
			if err != nil {
				t.Fatal(err)
			}
			want := reference.Logits(m.Config, weightsOf(m), b.Tokens, b.Positions, b.Mask)
			if e := maxRelError(tensors.MustCopyFlatData[float32](got), want, b.Mask); e > 2e-5 {
				t.Fatalf("max relative logits error %.3g > 2e-5 (%s)", e, describe(b))
			} else {
				t.Logf("max relative logits error vs float64 reference: %.3g", e)
			}
		})
	}
}

// Padding must not leak: a row's logits do not depend on how much padding precedes it or on the
// pad token ids.
func TestLeftPaddingDoesNotChangeLogits(t *testing.T) {
	m := randomModel(t, tinyLlama, Options{}, 3)
	seq := []int32{5, 9, 2, 44, 17}
	alone, err := m.ComputeLogits(LeftPad([][]int32{seq}, 0))
	if err != nil {
		t.Fatal(err)
	}
	padded := LeftPad([][]int32{seq, {1, 2, 3, 4, 5, 6, 7, 8, 9}}, 0)
	for j := range 4 {
		padded.Tokens[0][j] = int32(30 + j) // arbitrary pad ids
	}
	both, err := m.ComputeLogits(padded)
	if err != nil {
		t.Fatal(err)
	}
	a := tensors.MustCopyFlatData[float32](alone)
	p := tensors.MustCopyFlatData[float32](both)
	v := m.Config.VocabSize
	for i := range len(seq) * v {
		if d := a[i] - p[4*v+i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("logit %d differs by %g with 4 left pads", i, d)
		}
	}
}

// The KV-cache path (prefill + one-token decode steps, Go backend's select-based writes) gives the
// full forward's logits.
func TestCachedForwardMatchesFullForward(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		prefill      int
	}{{"qwen2 prefill 3", tinyQwen2, 3}, {"llama prefill 1", tinyLlama, 1}, {"llama prefill all", tinyLlama, 7}} {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.config, Options{}, 4)
			b := testBatch(m.Config.VocabSize, 5)
			full, err := m.ComputeLogits(b)
			if err != nil {
				t.Fatal(err)
			}
			cached, err := m.ComputeLogitsCached(b, tc.prefill)
			if err != nil {
				t.Fatal(err)
			}
			want := toF64(tensors.MustCopyFlatData[float32](full), 3, 7, m.Config.VocabSize)
			if e := maxRelError(tensors.MustCopyFlatData[float32](cached), want, b.Mask); e > 1e-5 {
				t.Fatalf("cached vs full: max relative error %.3g", e)
			}
		})
	}
}

// Chunked prefill: several tokens written at a nonzero slot (the Go backend's one-hot writes).
func TestCachedForwardInChunks(t *testing.T) {
	m := randomModel(t, tinyQwen2, Options{}, 10)
	b := testBatch(m.Config.VocabSize, 11)
	full, err := m.ComputeLogits(b)
	if err != nil {
		t.Fatal(err)
	}
	chunked, err := m.computeLogitsChunks(b, []int{2, 3, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	want := toF64(tensors.MustCopyFlatData[float32](full), 3, 7, m.Config.VocabSize)
	if e := maxRelError(tensors.MustCopyFlatData[float32](chunked), want, b.Mask); e > 1e-5 {
		t.Fatalf("chunked cache vs full: max relative error %.3g", e)
	}
}

// bfloat16 compute stays close to float32 (bf16 has 8 bits of mantissa).
func TestBFloat16ComputeIsCloseToFloat32(t *testing.T) {
	m := randomModel(t, tinyQwen2, Options{}, 6)
	bf, err := m.Clone()
	if err != nil {
		t.Fatal(err)
	}
	bf.opts.DType = dtypes.BFloat16
	b := testBatch(m.Config.VocabSize, 7)
	want, err := m.ComputeLogits(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := bf.ComputeLogits(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.DType() != dtypes.Float32 {
		t.Fatalf("logits dtype %s, want float32", got.DType())
	}
	e := maxRelError(tensors.MustCopyFlatData[float32](got), toF64(tensors.MustCopyFlatData[float32](want), 3, 7, m.Config.VocabSize), b.Mask)
	if e > 0.05 || e < 1e-6 {
		t.Fatalf("bf16 vs f32 max relative error %.3g: want a bf16-sized difference (1e-6, 0.05]", e)
	}
	t.Logf("bf16 vs f32 max relative logits error: %.3g", e)
}

// The masking of the fused (flash) path — a causal flag plus an additive padding bias — gives the
// same logits as the boolean mask of the decomposed path. On the Go backend attention.Core runs
// it through its decomposed fallback; on xla:cuda the same inputs go to cuDNN.
func TestFusedPathMaskingMatchesReference(t *testing.T) {
	forceFusedMasking = true
	defer func() { forceFusedMasking = false }()
	m := randomModel(t, tinyLlama, Options{}, 8)
	b := testBatch(m.Config.VocabSize, 9)
	got, err := m.ComputeLogits(b)
	if err != nil {
		t.Fatal(err)
	}
	want := reference.Logits(m.Config, weightsOf(m), b.Tokens, b.Positions, b.Mask)
	if e := maxRelError(tensors.MustCopyFlatData[float32](got), want, b.Mask); e > 2e-5 {
		t.Fatalf("fused-path masking: max relative logits error %.3g", e)
	}
}
