package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/grpo-dev/grpo/core/accel"
	"github.com/grpo-dev/grpo/core/model/hf"
	"github.com/grpo-dev/grpo/core/model/internal/reference"
)

// tinyQwen2 is a Qwen2 config with tied embeddings, q/k/v biases and GQA (4 query heads, 2 KV).
const tinyQwen2 = `{"model_type": "qwen2", "vocab_size": 61, "hidden_size": 32, "intermediate_size": 48,
 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
 "rope_theta": 10000.0, "tie_word_embeddings": true, "max_position_embeddings": 128, "torch_dtype": "float32"}`

// tinyLlama is untied, GQA (4/1), Llama-3 rope scaling with a small original context so all three
// frequency bands occur, attention and MLP biases off.
const tinyLlama = `{"model_type": "llama", "vocab_size": 53, "hidden_size": 32, "intermediate_size": 40,
 "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16, "rms_norm_eps": 1e-5,
 "rope_theta": 500000.0, "max_position_embeddings": 256, "tie_word_embeddings": false, "torch_dtype": "float32",
 "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
  "original_max_position_embeddings": 64}}`

func mustConfig(t testing.TB, js string) *hf.Config {
	t.Helper()
	c, err := hf.ParseConfig([]byte(js), "test/config.json")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// randomModel makes a model whose every weight (norm scales and biases included) is random, so
// that no term of the forward pass can be dropped unnoticed.
func randomModel(t testing.TB, js string, opts Options, seed uint64) *Model {
	t.Helper()
	if opts.Backend == nil {
		b, err := accel.New("go")
		if err != nil {
			t.Fatal(err)
		}
		opts.Backend = b
	}
	m, err := New(mustConfig(t, js), opts, seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, s := range m.specs {
		v := m.Variable(s.Name)
		values := tensors.MustCopyFlatData[float32](v.MustValue())
		for i := range values {
			switch s.init {
			case initNormal:
				values[i] = float32(rng.NormFloat64() * 0.2)
			case initOnes:
				values[i] = float32(1 + 0.3*rng.NormFloat64())
			case initZeros:
				values[i] = float32(0.1 * rng.NormFloat64())
			}
		}
		v.MustSetValue(tensors.FromFlatDataAndDimensions(values, s.Shape...))
	}
	return m
}

// weightsOf reads a model's weights as float64 for the reference implementation.
func weightsOf(m *Model) reference.Weights {
	w := reference.Weights{}
	for _, s := range m.specs {
		vals := tensors.MustCopyFlatData[float32](m.Variable(s.Name).MustValue())
		f := make([]float64, len(vals))
		for i, v := range vals {
			f[i] = float64(v)
		}
		w[s.Name] = f
	}
	return w
}

// testBatch is a left-padded batch of three rows (lengths 7, 4 and 1) of random tokens.
func testBatch(vocab int, seed uint64) Batch {
	rng := rand.New(rand.NewPCG(seed, 11))
	var seqs [][]int32
	for _, n := range []int{7, 4, 1} {
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(rng.IntN(vocab))
		}
		seqs = append(seqs, s)
	}
	return LeftPad(seqs, 0)
}

// maxRelError is max |got − want| over real (mask = 1) positions, divided by max |want| there:
// the "max relative logits error" of the parity checks.
func maxRelError(got []float32, want [][][]float64, mask [][]int32) float64 {
	var maxDiff, maxRef float64
	vocab := len(want[0][0])
	cols := len(mask[0])
	for b := range want {
		for t := range want[b] {
			if mask[b][t] == 0 {
				continue
			}
			for v := range vocab {
				g := float64(got[(b*cols+t)*vocab+v])
				maxDiff = math.Max(maxDiff, math.Abs(g-want[b][t][v]))
				maxRef = math.Max(maxRef, math.Abs(want[b][t][v]))
			}
		}
	}
	return maxDiff / maxRef
}

func toF64(x []float32, rows, cols, vocab int) [][][]float64 {
	out := make([][][]float64, rows)
	for b := range rows {
		out[b] = make([][]float64, cols)
		for t := range cols {
			out[b][t] = make([]float64, vocab)
			for v := range vocab {
				out[b][t][v] = float64(x[(b*cols+t)*vocab+v])
			}
		}
	}
	return out
}

func describe(b Batch) string {
	return fmt.Sprintf("tokens %v mask %v positions %v", b.Tokens, b.Mask, b.Positions)
}
