package local

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/grpo-dev/grpo/core/accel"
	"github.com/grpo-dev/grpo/core/generate"
	"github.com/grpo-dev/grpo/core/model"
	"github.com/grpo-dev/grpo/core/model/hf"
)

// testConfig is a tiny Qwen2 (tied embeddings, q/k/v biases, GQA 4/2) with weights large
// enough (initializer_range 0.3) that greedy choices are not near-ties.
const testConfig = `{"model_type": "qwen2", "vocab_size": 97, "hidden_size": 32, "intermediate_size": 48,
 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
 "rope_theta": 10000.0, "tie_word_embeddings": true, "max_position_embeddings": 256,
 "initializer_range": 0.3, "torch_dtype": "float32", "eos_token_id": 2, "pad_token_id": 0}`

func newTestModel(t testing.TB, js string, dtype dtypes.DType, seed uint64) *model.Model {
	t.Helper()
	cfg, err := hf.ParseConfig([]byte(js), "test/config.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(cfg, model.Options{DType: dtype, Backend: accel.MustShared()}, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newGenerator(t testing.TB, m *model.Model, opts Options) *Generator {
	t.Helper()
	g, err := New(m, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func idPrompts(seqs ...[]int32) []generate.Prompt {
	out := make([]generate.Prompt, len(seqs))
	for i, s := range seqs {
		out[i] = generate.Prompt{IDs: s}
	}
	return out
}

func mustGenerate(t testing.TB, g *Generator, req generate.Request) []generate.Completion {
	t.Helper()
	out, err := g.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(req.Prompts)*req.N {
		t.Fatalf("%d completions for %d prompts × %d", len(out), len(req.Prompts), req.N)
	}
	return out
}

// referenceGreedy continues a prompt greedily with full forward passes (no KV cache, no padding,
// no sampler graph): the independent reference of the cached decode. It returns the tokens, the
// log-softmax of each chosen token and the smallest top-1/top-2 logit gap seen, stopping after
// maxTokens or at a stop id.
func referenceGreedy(t testing.TB, m *model.Model, prompt []int32, maxTokens int, stop func(int32) bool) (ids []int32, lps []float64, minGap float64) {
	t.Helper()
	seq := append([]int32(nil), prompt...)
	minGap = math.Inf(1)
	// A second row of fixed length pads every call to the same shape (one compiled graph).
	filler := make([]int32, len(prompt)+maxTokens)
	for i := range filler {
		filler[i] = 3
	}
	for range maxTokens {
		b := model.LeftPad([][]int32{seq, filler}, 0)
		width := len(filler)
		logits, err := m.ComputeLogits(b)
		if err != nil {
			t.Fatal(err)
		}
		flat := tensors.MustCopyFlatData[float32](logits)
		v := m.Config.VocabSize
		last := flat[(width-1)*v : width*v] // row 0, last column
		best, second := 0, -1
		for i := 1; i < v; i++ {
			if last[i] > last[best] {
				best, second = i, best
			} else if second < 0 || last[i] > last[second] {
				second = i
			}
		}
		minGap = min(minGap, float64(last[best]-last[second]))
		lse := 0.0
		for _, x := range last {
			lse += math.Exp(float64(x - last[best]))
		}
		ids = append(ids, int32(best))
		lps = append(lps, -math.Log(lse))
		seq = append(seq, int32(best))
		if stop != nil && stop(int32(best)) {
			break
		}
	}
	return ids, lps, minGap
}

func randomPrompt(seed, n, vocab int) []int32 {
	out := make([]int32, n)
	x := uint32(seed*7919 + 1)
	for i := range out {
		x = mix32Host(x)
		out[i] = int32(3 + x%uint32(vocab-3)) // avoid pad 0 and eos 2
	}
	return out
}

func describe(c generate.Completion) string {
	return fmt.Sprintf("prompt %d: %v (%s)", c.Prompt, c.IDs, c.FinishReason)
}
