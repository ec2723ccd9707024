package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/grpo-dev/grpo/core/accel"
)

// expected is testdata/*/expected.json, written by transformers (scripts/gpu/make_model_fixtures.py).
type expected struct {
	TransformersVersion string        `json:"transformers_version"`
	InputIDs            [][]int32     `json:"input_ids"`
	AttentionMask       [][]int32     `json:"attention_mask"`
	PositionIDs         [][]int32     `json:"position_ids"`
	Logits              [][][]float64 `json:"logits"`
	GreedyNext          []int         `json:"greedy_next"`
}

func readExpected(t *testing.T, dir string) expected {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func argmaxLast(logits []float32, rows, cols, vocab int) []int {
	out := make([]int, rows)
	for b := range rows {
		row := logits[(b*cols+cols-1)*vocab:][:vocab]
		for v := range row {
			if row[v] > row[out[b]] {
				out[b] = v
			}
		}
	}
	return out
}

// The Go forward (full and KV-cache paths) reproduces transformers' float32 logits on the CI
// fixtures: Qwen2 tied/biases/GQA (single file, sharded, bf16-stored) and Llama untied with
// Llama-3 rope scaling, on left-padded batches.
func TestTransformersFixtures(t *testing.T) {
	backend, err := accel.New("go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tiny-qwen2", "tiny-qwen2-sharded", "tiny-qwen2-bf16", "tiny-llama"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			e := readExpected(t, dir)
			// float32 compute: the fixtures' logits are float32 (for the bf16 checkpoint, computed
			// from the bf16-rounded weights).
			m, err := LoadDir(dir, Options{DType: dtypes.Float32, Backend: backend})
			if err != nil {
				t.Fatal(err)
			}
			b := Batch{Tokens: e.InputIDs, Positions: e.PositionIDs, Mask: e.AttentionMask}
			rows, cols, vocab := len(b.Tokens), len(b.Tokens[0]), m.Config.VocabSize
			full, err := m.ComputeLogits(b)
			if err != nil {
				t.Fatal(err)
			}
			got := tensors.MustCopyFlatData[float32](full)
			errFull := maxRelError(got, e.Logits, b.Mask)
			cached, err := m.ComputeLogitsCached(b, cols/2)
			if err != nil {
				t.Fatal(err)
			}
			gotCached := tensors.MustCopyFlatData[float32](cached)
			errCached := maxRelError(gotCached, e.Logits, b.Mask)
			t.Logf("transformers %s: max relative logits error %.3g (full), %.3g (KV cache)", e.TransformersVersion, errFull, errCached)
			if errFull > 1e-4 || errCached > 1e-4 {
				t.Fatalf("max relative logits error %.3g (full), %.3g (cached) > 1e-4", errFull, errCached)
			}
			for _, g := range [][]int{argmaxLast(got, rows, cols, vocab), argmaxLast(gotCached, rows, cols, vocab)} {
				for i := range g {
					if g[i] != e.GreedyNext[i] {
						t.Fatalf("greedy next tokens %v, transformers %v", g, e.GreedyNext)
					}
				}
			}
		})
	}
	// The bf16 checkpoint loads with compute dtype bfloat16 by default ("auto"); its logits stay
	// within bf16 precision of transformers' float32 ones.
	m, err := LoadDir(filepath.Join("testdata", "tiny-qwen2-bf16"), Options{Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	if m.DType() != dtypes.BFloat16 {
		t.Fatalf("auto dtype of the bf16 fixture: %s", m.DType())
	}
	e := readExpected(t, filepath.Join("testdata", "tiny-qwen2-bf16"))
	out, err := m.ComputeLogits(Batch{Tokens: e.InputIDs, Positions: e.PositionIDs, Mask: e.AttentionMask})
	if err != nil {
		t.Fatal(err)
	}
	rel := maxRelError(tensors.MustCopyFlatData[float32](out), e.Logits, e.AttentionMask)
	t.Logf("bf16 compute vs transformers float32: max relative logits error %.3g", rel)
	if rel > 0.05 {
		t.Fatalf("bf16 compute: max relative logits error %.3g > 0.05", rel)
	}
}
