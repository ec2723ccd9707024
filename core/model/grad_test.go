package model

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gm "github.com/gomlx/gomlx/ml/model"

	"github.com/grpo-dev/grpo/core/model/internal/reference"
)

// lossWeights are fixed random coefficients c[b,t,v]; the test loss is Σ c·logits over real
// positions, so every logit contributes to the gradient.
func lossWeights(b Batch, vocab int) [][][]float32 {
	rng := rand.New(rand.NewPCG(99, 1))
	c := make([][][]float32, len(b.Tokens))
	for i := range c {
		c[i] = make([][]float32, len(b.Tokens[i]))
		for j := range c[i] {
			c[i][j] = make([]float32, vocab)
			for v := range c[i][j] {
				if b.Mask[i][j] != 0 {
					c[i][j][v] = float32(rng.NormFloat64())
				}
			}
		}
	}
	return c
}

// gradients returns d(Σ c·logits)/d(weight) for every weight, in TensorNames order, and the
// number of optimization barriers (gradient-checkpoint boundaries) in the graph.
func gradients(t *testing.T, m *Model, b Batch, c [][][]float32) ([][]float32, int) {
	t.Helper()
	e, err := gm.NewExec(m.Backend(), m.Store, func(_ *gm.Scope, tokens, positions, mask, coef *Node) []*Node {
		logits := m.Logits(m.Forward(Inputs{Tokens: tokens, Positions: positions, Mask: mask}))
		loss := ReduceAllSum(Mul(logits, coef))
		var ws []*Node
		for _, v := range m.Variables() {
			ws = append(ws, v.NodeValue(tokens.Graph()))
		}
		return Gradient(loss, ws...)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, g, err := e.CallWithGraph(b.Tokens, b.Positions, b.Mask, c)
	if err != nil {
		t.Fatal(err)
	}
	grads := make([][]float32, len(out))
	for i, o := range out {
		grads[i] = tensors.MustCopyFlatData[float32](o)
	}
	barriers := 0
	for _, n := range g.Nodes() {
		if n.Type() == NodeTypeOptimizationBarrier {
			barriers++
		}
	}
	return grads, barriers
}

// The backward pass agrees with central finite differences of the float64 reference, for a
// sample of weights in every kind of tensor (embedding, norms, biases, q/k/v/o, MLP, lm_head).
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	for _, cfg := range []string{tinyQwen2, tinyLlama} {
		m := randomModel(t, cfg, Options{}, 31)
		b := testBatch(m.Config.VocabSize, 32)
		c := lossWeights(b, m.Config.VocabSize)
		grads, _ := gradients(t, m, b, c)
		w := weightsOf(m)
		loss := func(w reference.Weights) float64 {
			logits := reference.Logits(m.Config, w, b.Tokens, b.Positions, b.Mask)
			s := 0.0
			for i := range logits {
				for j := range logits[i] {
					for v := range logits[i][j] {
						s += float64(c[i][j][v]) * logits[i][j][v]
					}
				}
			}
			return s
		}
		rng := rand.New(rand.NewPCG(5, 5))
		for k, name := range m.TensorNames() {
			for range 2 {
				i := rng.IntN(len(w[name]))
				orig := w[name][i]
				const h = 1e-4
				w[name][i] = orig + h
				up := loss(w)
				w[name][i] = orig - h
				down := loss(w)
				w[name][i] = orig
				fd := (up - down) / (2 * h)
				got := float64(grads[k][i])
				if math.Abs(got-fd) > 2e-3*math.Max(1, math.Abs(fd)) {
					t.Errorf("%s %s[%d]: gradient %.6g, finite difference %.6g", m.Config.ModelType, name, i, got, fd)
				}
			}
		}
	}
}

// Per-layer gradient checkpointing recomputes activations but gives the same gradients.
func TestGradientCheckpointingGivesSameGradients(t *testing.T) {
	m := randomModel(t, tinyLlama, Options{}, 33)
	ck, err := m.Clone()
	if err != nil {
		t.Fatal(err)
	}
	ck.opts.GradientCheckpointing = true
	b := testBatch(m.Config.VocabSize, 34)
	c := lossWeights(b, m.Config.VocabSize)
	plain, none := gradients(t, m, b, c)
	check, barriers := gradients(t, ck, b, c)
	if none != 0 || barriers < m.Config.NumHiddenLayers {
		t.Fatalf("optimization barriers: %d without checkpointing, %d with (want 0 and >= %d layers)", none, barriers, m.Config.NumHiddenLayers)
	}
	for k := range plain {
		for i := range plain[k] {
			if d := math.Abs(float64(plain[k][i] - check[k][i])); d > 1e-5*math.Max(1, math.Abs(float64(plain[k][i]))) {
				t.Fatalf("%s[%d]: %g without checkpointing, %g with", m.TensorNames()[k], i, plain[k][i], check[k][i])
			}
		}
	}
}
