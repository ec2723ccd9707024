package grpo

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/grpo-dev/grpo/core/accel"
)

func mustVar(t *testing.T, s *model.Store, path string, value any) *model.Variable {
	t.Helper()
	v, err := s.CreateVariable(path, tensors.MustFromAnyValue(value))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRefSync(t *testing.T) {
	backend := accel.MustShared()
	policy, reference := model.NewStore(), model.NewStore()
	mustVar(t, policy, "/layer/w", [][]float32{{1, 2}, {3, 4}})
	mustVar(t, policy, "/layer/b", []float64{10, -10})
	mustVar(t, policy, "/embed", []float32{0.5})
	step := mustVar(t, policy, "/optimizer/step", int64(7)) // not trainable: no reference counterpart needed
	step.SetTrainable(false)
	mustVar(t, reference, "/layer/w", [][]float32{{0, 0}, {1, 1}})
	mustVar(t, reference, "/layer/b", []float64{0, 0})
	mustVar(t, reference, "/embed", []float32{1.5})

	sync, err := NewRefSync(backend, policy, reference)
	if err != nil {
		t.Fatal(err)
	}
	defer sync.Close()

	// ‖θ − θ_ref‖² = (1+4+4+9) + (100+100) + 1 = 219.
	dist, err := sync.Sync(0.6)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(dist-math.Sqrt(219)) > 1e-6 {
		t.Fatalf("distance %v, want √219", dist)
	}
	check := func(path string, want []float64) {
		t.Helper()
		v := reference.GetVariable(path)
		val, err := v.Value()
		if err != nil {
			t.Fatal(err)
		}
		var got []float64
		switch val.DType() {
		case dtypes.Float32:
			for _, x := range tensors.MustCopyFlatData[float32](val) {
				got = append(got, float64(x))
			}
		case dtypes.Float64:
			got = tensors.MustCopyFlatData[float64](val)
		}
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-6 {
				t.Fatalf("%s = %v, want %v", path, got, want)
			}
		}
	}
	// θ_ref ← 0.6·θ + 0.4·θ_ref.
	check("/layer/w", []float64{0.6, 1.2, 0.6*3 + 0.4, 0.6*4 + 0.4})
	check("/layer/b", []float64{6, -6})
	check("/embed", []float64{0.6*0.5 + 0.4*1.5})
	// A second sync reuses the compiled computation and compounds.
	if _, err := sync.Sync(0.5); err != nil {
		t.Fatal(err)
	}
	check("/layer/b", []float64{8, -8})
	// The policy is untouched.
	pb, _ := policy.GetVariable("/layer/b").Value()
	if got := tensors.MustCopyFlatData[float64](pb); got[0] != 10 || got[1] != -10 {
		t.Fatalf("policy changed: %v", got)
	}
	if _, err := sync.Sync(1.5); err == nil {
		t.Fatal("alpha 1.5 accepted")
	}
}

func TestRefSyncErrors(t *testing.T) {
	backend := accel.MustShared()
	policy := model.NewStore()
	mustVar(t, policy, "/w", []float32{1, 2})
	mustVar(t, policy, "/extra", []float32{1})

	ref := model.NewStore()
	mustVar(t, ref, "/w", []float32{1, 2})
	if _, err := NewRefSync(backend, policy, ref); err == nil || !strings.Contains(err.Error(), `"/extra"`) {
		t.Fatalf("missing trainable variable: got %v", err)
	}
	mustVar(t, ref, "/extra", []float32{1})
	mustVar(t, ref, "/only_ref", []float32{1})
	if _, err := NewRefSync(backend, policy, ref); err == nil || !strings.Contains(err.Error(), `"/only_ref"`) {
		t.Fatalf("reference-only variable: got %v", err)
	}
	ref2 := model.NewStore()
	mustVar(t, ref2, "/w", []float32{1, 2, 3})
	mustVar(t, ref2, "/extra", []float32{1})
	if _, err := NewRefSync(backend, policy, ref2); err == nil || !strings.Contains(err.Error(), "/w") {
		t.Fatalf("shape mismatch: got %v", err)
	}
	if _, err := NewRefSync(backend, policy, policy); err == nil {
		t.Fatal("policy == reference accepted")
	}
}
