package grpo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// lossCase is one configuration of the objective checked against the float64 reference.
type lossCase struct {
	cfg           LossConfig
	clip          bool // pass OldLogProbs (num_iterations > 1)
	maskTruncated bool
	isWeights     bool
}

func (c lossCase) String() string {
	return fmt.Sprintf("%s/beta=%g/clip=%v/delta=%g/maskTrunc=%v/is=%v", c.cfg.Type, c.cfg.Beta, c.clip, c.cfg.Delta, c.maskTruncated, c.isWeights)
}

// lossProblem is the fixed random micro-batch of the loss tests: 4 completions of T = 6 tokens with
// an EOS mid-row, a truncated row, an EOS at the first token, and a full-length row ending in EOS.
type lossProblem struct {
	in       *refInputs
	rows     [][]int32
	lp0      []float64 // reference log-probs at the unperturbed inputs
	weights  []float64 // importance weights [B*T]
	numItems float64   // dapo: active tokens of the whole step (this batch + others)
}

const testEOS, testPad = 12, 11

func newLossProblem(seed uint64) *lossProblem {
	rng := rand.New(rand.NewPCG(seed, 99))
	const b, t, d, v = 4, 6, 5, 13
	in := newRefInputs(rng, b, t, d, v, 0.9)
	p := &lossProblem{in: in}
	// Sampled rows (targets), EOS = 12, pad = 11. Row 1 has tokens after its EOS, which the
	// mask must zero.
	p.rows = [][]int32{
		{3, 5, 1, 7, 2, testEOS},
		{4, 4, testEOS, 9, 9, 0},
		{1, 2, 3, 4, 5, 6}, // truncated: no EOS within max_completion_length
		{testEOS},
	}
	p.weights = make([]float64, b*t)
	for i := range p.weights {
		p.weights[i] = 0.5 + rng.Float64()
	}
	// Old and reference log-probs: the policy's plus noise large enough that some tokens fall
	// outside [1−ε, 1+ε_high] (both sides) and some inside.
	in.Old = make([]float64, b*t)
	in.Ref = make([]float64, b*t)
	return p
}

// setRows fills targets and mask from p.rows through BuildCompletions, and recomputes lp0, Old
// and Ref (Old/Ref depend on the targets).
func (p *lossProblem) setRows(t *testing.T, maskTruncated bool, rng *rand.Rand) *Completions {
	t.Helper()
	in := p.in
	comp, err := BuildCompletions(p.rows, CompletionsConfig{Width: in.T, EOS: []int32{testEOS}, Pad: testPad, MaskTruncated: maskTruncated})
	if err != nil {
		t.Fatal(err)
	}
	copy(in.Targets, comp.IDs)
	for i, m := range comp.Mask {
		in.Mask[i] = float64(m)
	}
	p.lp0, _ = refLogProbs(in.Hidden, in.Proj, in.Targets, in.B*in.T, in.D, in.V, in.Temperature)
	for i := range in.Old {
		in.Old[i] = p.lp0[i] + 0.35*rng.NormFloat64()
		in.Ref[i] = p.lp0[i] + 0.3*rng.NormFloat64()
	}
	p.numItems = float64(comp.ActiveTokens()) + 17
	return comp
}

// runLoss evaluates Loss on the graph in float64: loss, stats, seqClip, per-token KL and the
// gradients of the loss with respect to the hidden states and the projection.
func (p *lossProblem) runLoss(t *testing.T, c lossCase) (loss float64, stats, seqClip, kl, dHidden, dProj []float64) {
	t.Helper()
	in := p.in
	b, tt := in.B, in.T
	out := runGraph(t, func(g *Graph, x []*Node) []*Node {
		lp, ent := TokenLogProbs(x[0], x[1], x[2], LogProbsConfig{Temperature: in.Temperature, ChunkSize: 5, Entropy: true})
		li := LossInputs{LogProbs: lp, Mask: x[3], Advantages: x[4], Entropy: StopGradient(ent), NumItemsInBatch: x[7]}
		if c.clip {
			li.OldLogProbs = x[5]
		}
		if c.cfg.Beta != 0 {
			li.RefLogProbs = x[6]
		}
		if c.isWeights {
			li.ImportanceWeights = x[8]
		}
		lo := Loss(li, c.cfg)
		grads := Gradient(lo.Loss, x[0], x[1])
		klOut := ZerosLike(lp)
		if lo.PerTokenKL != nil {
			klOut = lo.PerTokenKL
		}
		return []*Node{lo.Loss, lo.Stats, lo.SeqClip, klOut, grads[0], grads[1]}
	}, f64Tensor(in.Hidden, b, tt, in.D), f64Tensor(in.Proj, in.V, in.D), i32Tensor(in.Targets, b, tt),
		f64Tensor(in.Mask, b, tt), f64Tensor(in.Advantages, b), f64Tensor(in.Old, b, tt), f64Tensor(in.Ref, b, tt),
		p.numItems, f64Tensor(p.weights, b, tt))
	return f64Flat(t, out[0])[0], f64Flat(t, out[1]), f64Flat(t, out[2]), f64Flat(t, out[3]), f64Flat(t, out[4]), f64Flat(t, out[5])
}

// refFor returns the reference inputs for case c: Old is nil without clipping (or old when given),
// Ref nil without KL, Weights set with importance weights.
func (p *lossProblem) refFor(c lossCase, old []float64) *refInputs {
	in := *p.in
	in.Old = nil
	if c.isWeights {
		in.Weights = p.weights
	}
	if c.clip {
		in.Old = p.in.Old
	} else if old != nil {
		in.Old = old
	}
	if c.cfg.Beta == 0 {
		in.Ref = nil
	}
	return &in
}

func allLossCases() []lossCase {
	var cases []lossCase
	for _, typ := range []LossType{LossGRPO, LossBNPO, LossDrGRPO, LossDAPO} {
		for _, beta := range []float64{0, 0.04} {
			for _, clip := range []bool{false, true} {
				for _, mt := range []bool{false, true} {
					cases = append(cases, lossCase{
						cfg: LossConfig{Type: typ, Beta: beta, Epsilon: 0.2, EpsilonHigh: 0.28,
							MaxCompletionLength: 6, GradientAccumulationSteps: 2},
						clip: clip, maskTruncated: mt,
					})
				}
			}
		}
	}
	// Two-sided clipping and vLLM importance weights.
	cases = append(cases,
		lossCase{cfg: LossConfig{Type: LossDAPO, Beta: 0.04, Epsilon: 0.2, Delta: 1.25}, clip: true},
		lossCase{cfg: LossConfig{Type: LossGRPO, Beta: 0.1, Epsilon: 0.1, GradientAccumulationSteps: 1}, clip: true, isWeights: true},
		lossCase{cfg: LossConfig{Type: LossBNPO, Epsilon: 0.2}, clip: false, isWeights: true},
	)
	return cases
}

// TestLossMatchesReference checks the loss value, the diagnostics and the gradients with respect
// to the hidden states and the projection against the float64 reference, for every loss type,
// with and without clipping, β = 0 and β > 0, with EOS mid-row, a truncated row (kept or masked)
// and a one-token row.
func TestLossMatchesReference(t *testing.T) {
	p := newLossProblem(7)
	rng := rand.New(rand.NewPCG(11, 12))
	sawClipLow, sawClipHigh := false, false
	for _, c := range allLossCases() {
		t.Run(c.String(), func(t *testing.T) {
			p.setRows(t, c.maskTruncated, rng)
			in := p.in
			loss, stats, seqClip, kl, dHidden, dProj := p.runLoss(t, c)

			refIn := p.refFor(c, nil)
			want := refLoss(refIn, p.lp0, c.cfg, p.numItems)
			if e := relErr(loss, want.Loss, 1e-8); e > 1e-6 {
				t.Fatalf("loss %.15g, reference %.15g (rel err %.2e)", loss, want.Loss, e)
			}
			if e := relErr(stats[StatLoss], want.Loss, 1e-8); e > 1e-6 {
				t.Fatalf("Stats[StatLoss] %.15g, reference %.15g", stats[StatLoss], want.Loss)
			}
			for _, s := range []struct {
				name      string
				got, want float64
			}{
				{"KLSum", stats[StatKLSum], want.KLSum},
				{"Tokens", stats[StatTokens], want.Tokens},
				{"ClipLow", stats[StatClipLow], want.ClipLow},
				{"ClipHigh", stats[StatClipHigh], want.ClipHigh},
				{"ClipRegion", stats[StatClipRegion], want.ClipRegion},
			} {
				if e := relErr(s.got, s.want, 1e-8); e > 1e-6 {
					t.Fatalf("stat %s = %.15g, reference %.15g", s.name, s.got, s.want)
				}
			}
			if c.clip && !c.isWeights && c.cfg.Delta == 0 {
				sawClipLow = sawClipLow || want.ClipLow > 0
				sawClipHigh = sawClipHigh || want.ClipHigh > 0
			}
			if !c.clip && (stats[StatClipLow] != 0 || stats[StatClipHigh] != 0) {
				t.Fatalf("without old log-probs the ratio is 1 and nothing may clip, got low %v high %v", stats[StatClipLow], stats[StatClipHigh])
			}
			// Per-token KL.
			if c.cfg.Beta != 0 {
				for k := range kl {
					x := in.Ref[k] - p.lp0[k]
					if e := relErr(kl[k], math.Exp(x)-x-1, 1e-8); e > 1e-6 {
						t.Fatalf("KL[%d] = %.15g, reference %.15g", k, kl[k], math.Exp(x)-x-1)
					}
				}
			}
			// Per-sequence clip means: NaN exactly for rows without active tokens.
			for i := range in.B {
				var m float64
				for j := range in.T {
					m += in.Mask[i*in.T+j]
				}
				if (m == 0) != math.IsNaN(seqClip[2*i]) {
					t.Fatalf("seqClip row %d = %v with %v active tokens", i, seqClip[2*i], m)
				}
			}

			// Gradients against finite differences; without clipping the old log-probs are the
			// (fixed) unperturbed policy log-probs, as exp(lp − sg(lp)) differentiates.
			old := p.lp0
			fdIn := p.refFor(c, old)
			obj := func() float64 { return refObjective(fdIn, c.cfg, p.numItems, 0) }
			hidden := append([]float64(nil), in.Hidden...)
			fdIn.Hidden = hidden
			checkGradient(t, "hidden", dHidden, hidden, func([]float64) float64 { return obj() })
			proj := append([]float64(nil), in.Proj...)
			fdIn.Proj = proj
			checkGradient(t, "proj", dProj, proj, func([]float64) float64 { return obj() })
		})
	}
	if !sawClipLow || !sawClipHigh {
		t.Fatalf("the clipping cases never clipped (low %v, high %v): the test does not exercise clipping", sawClipLow, sawClipHigh)
	}
}

// TestLossBetaZeroNeedsNoReference builds the loss with β = 0 and no RefLogProbs at all (the
// reference forward is skipped), and checks β > 0 without them is refused with a clear message.
func TestLossBetaZeroNeedsNoReference(t *testing.T) {
	out := runGraph(t, func(g *Graph, x []*Node) []*Node {
		lo := Loss(LossInputs{LogProbs: x[0], Mask: OnesLike(x[0]), Advantages: x[1]}, LossConfig{Type: LossGRPO, Epsilon: 0.2})
		if lo.PerTokenKL != nil {
			t.Error("PerTokenKL must be nil with beta = 0")
		}
		return []*Node{lo.Loss}
	}, f64Tensor([]float64{-1, -2, -0.5, -3}, 2, 2), f64Tensor([]float64{1.5, -0.5}, 2))
	// Ratio 1: loss = mean_i(−A_i) = −(1.5 − 0.5)/2.
	if got := f64Flat(t, out[0])[0]; math.Abs(got-(-0.5)) > 1e-15 {
		t.Fatalf("loss %v, want -0.5", got)
	}

	err := runGraphNoFatal(func(g *Graph, x []*Node) []*Node {
		return []*Node{Loss(LossInputs{LogProbs: x[0], Mask: OnesLike(x[0]), Advantages: x[1]}, LossConfig{Type: LossGRPO, Beta: 0.04}).Loss}
	}, f64Tensor([]float64{-1, -2}, 1, 2), f64Tensor([]float64{1}, 1))
	if err == nil || !strings.Contains(err.Error(), "RefLogProbs") {
		t.Fatalf("beta > 0 without RefLogProbs: got %v, want an error naming RefLogProbs", err)
	}
}

func TestLossConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  LossConfig
		want string
	}{
		{LossConfig{Type: "ppo"}, "loss_type"},
		{LossConfig{Type: LossGRPO, Beta: -1}, "beta"},
		{LossConfig{Type: LossGRPO, Epsilon: 1.2}, "epsilon"},
		{LossConfig{Type: LossGRPO, EpsilonHigh: -0.1}, "epsilon_high"},
		{LossConfig{Type: LossGRPO, Delta: 0.5}, "delta"},
		{LossConfig{Type: LossDrGRPO}, "max_completion_length"},
		{LossConfig{Type: LossBNPO, GradientAccumulationSteps: -2}, "gradient_accumulation_steps"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
	if err := (LossConfig{Type: LossDAPO, Beta: 0.04, Epsilon: 0.2, EpsilonHigh: 0.28, Delta: 2}).Validate(); err != nil {
		t.Errorf("valid config refused: %v", err)
	}
}
