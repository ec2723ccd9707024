package train

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/grpo"
	"github.com/grpo-dev/grpo/core/model"
	"github.com/grpo-dev/grpo/core/optim"
	"github.com/grpo-dev/grpo/core/reward"
)

func ptrTo[T any](v T) *T { return &v }

// gradStep runs one GRPO step of cfg on a fresh fixture through optim's accumulation path (no
// update applied) and returns the task, the step's metrics and the accumulated gradient.
func gradStep(t *testing.T, cfg *config.Config) (*GRPO, map[string]float64, []float64) {
	task, metrics, grad, _ := gradStepWith(t, cfg, &letterReward{name: "a", letter: 'a'}, false)
	return task, metrics, grad
}

// gradStepWith is gradStep with a chosen reward, optionally running rows without gradient too;
// it also returns the number of backward chunks run.
func gradStepWith(t *testing.T, cfg *config.Config, rw reward.Reward, keepInert bool) (*GRPO, map[string]float64, []float64, int) {
	t.Helper()
	m := loadTiny(t)
	task, err := NewGRPO(cfg, m, byteTok{}, &scriptedGen{}, []reward.Reward{rw}, prompts(12), GRPOOptions{})
	if err != nil {
		t.Fatal(err)
	}
	task.keepInertRows = keepInert
	t.Cleanup(task.Close)
	opt, err := optim.New(m.Store, optim.Config{Beta1: 0.9, Beta2: 0.999, Reduction: task.Reduction()})
	if err != nil {
		t.Fatal(err)
	}
	step, err := opt.NewStep(m.Backend(), task.Loss)
	if err != nil {
		t.Fatal(err)
	}
	mb := &MicroBatches{step: step, lr: 0}
	mb.n = 1 // always take the accumulation path, so the gradient stays readable
	res, err := task.Step(context.Background(), 0, mb)
	if err != nil {
		t.Fatal(err)
	}
	var grad []float64
	for _, v := range m.Variables() {
		acc := m.Store.GetVariable(optim.ScopeGradAcc + v.Path())
		if acc == nil {
			t.Fatalf("no gradient accumulator for %s", v.Path())
		}
		for _, x := range tensors.MustCopyFlatData[float32](acc.MustValue()) {
			grad = append(grad, float64(x))
		}
	}
	return task, res.Metrics, grad, mb.Count() - 1
}

// maxDiff returns the largest |a_i − b_i| and the largest |a_i|.
func maxDiff(a, b []float64) (diff, scale float64) {
	for i := range a {
		scale = max(scale, math.Abs(a[i]))
		diff = max(diff, math.Abs(a[i]-b[i]))
	}
	return diff, scale
}

// TestGRPOLossNormalisation checks the step's loss against hand-derived values for every
// loss_type, with 2 micro-batches of 8 rows each run as 2 backward chunks. With one policy
// update per generation the ratio π/π_old is exactly 1 and β = 0, so each token's loss is −A_i
// and the reductions are plain arithmetic on the advantages and completion lengths n_i. (For
// grpo, truncated completions are masked out: otherwise the group-centred advantages sum to
// zero and so does the loss, which would check nothing.)
func TestGRPOLossNormalisation(t *testing.T) {
	for _, lt := range []string{"grpo", "bnpo", "dr_grpo", "dapo"} {
		t.Run(lt, func(t *testing.T) {
			cfg := grpoConfig(t, t.TempDir())
			cfg.LossType = lt
			cfg.GradientAccumulationSteps = 2
			cfg.BackpropAccumulationSteps = ptrTo(2)
			cfg.MaskTruncatedCompletions = lt == "grpo"
			task, metrics, _ := gradStep(t, cfg)
			rows := task.buffer.Rows
			b, ga, lmax := 8, 2, cfg.MaxCompletionLength
			var want, sumAN, tokens float64
			for _, r := range rows {
				n := 0.0
				for _, v := range r.LossMask {
					n += float64(v)
				}
				if n > 0 {
					want -= r.Advantage / float64(ga*b) // grpo: mean over sequences of the token mean
				}
				sumAN += r.Advantage * n
				tokens += n
			}
			switch lt {
			case "dr_grpo":
				want = -sumAN / float64(b*lmax*ga)
			case "dapo":
				want = -sumAN / tokens
			case "bnpo":
				want = 0
				for i := range ga {
					var an, n float64
					for _, r := range rows[i*b : (i+1)*b] {
						for _, v := range r.LossMask {
							an += r.Advantage * float64(v)
							n += float64(v)
						}
					}
					want -= an / n / float64(ga)
				}
			}
			if got := metrics["loss"]; math.Abs(got-want) > 1e-6 {
				t.Errorf("loss = %.8f, want %.8f", got, want)
			}
			if math.Abs(want) < 1e-3 {
				t.Errorf("degenerate case: the expected loss %.2g is ~0 and checks nothing", want)
			}
		})
	}
}

// TestGRPOChunkingKeepsGradient: splitting each micro-batch into backward chunks
// (backprop_accumulation_micro_batch_size) gives the gradient of one pass over the micro-batch,
// for every loss_type.
func TestGRPOChunkingKeepsGradient(t *testing.T) {
	for _, lt := range []string{"grpo", "bnpo", "dr_grpo", "dapo"} {
		t.Run(lt, func(t *testing.T) {
			var grads [][]float64
			for _, chunk := range []*int{nil, ptrTo(2)} {
				cfg := grpoConfig(t, t.TempDir())
				cfg.LossType = lt
				cfg.GradientAccumulationSteps = 2
				cfg.BackpropAccumulationMicroBatchSize = chunk
				_, _, g := gradStep(t, cfg)
				grads = append(grads, g)
			}
			diff, scale := maxDiff(grads[0], grads[1])
			if scale == 0 {
				t.Fatal("zero gradient: the test checks nothing")
			}
			if diff > 1e-5*scale {
				t.Errorf("gradients differ by up to %g (largest component %g) between 1 and 4 chunks per micro-batch", diff, scale)
			}
		})
	}
}

// TestGRPOGenerationRounds: one generation round serves generation_aggregation_steps
// micro-batches (RLT's buffer), so a step of GA micro-batches makes GA/S Generate calls.
func TestGRPOGenerationRounds(t *testing.T) {
	for _, s := range []int{1, 2} {
		cfg := grpoConfig(t, t.TempDir())
		cfg.GradientAccumulationSteps = 2
		cfg.GenerationAggregationSteps = ptrTo(s)
		cfg.MaxSteps = 2
		cfg.SaveStrategy = "no"
		cfg.SaveFinalModel = false
		tr, task, _ := newGRPOTrainer(t, cfg, []reward.Reward{&letterReward{name: "a", letter: 'a'}}, Options{})
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		gen := task.gen.(*scriptedGen)
		if want := 2 * 2 / s; gen.calls != want {
			t.Errorf("generation_aggregation_steps = %d: %d Generate calls in 2 steps, want %d", s, gen.calls, want)
		}
		// Each round holds b·S rows: K = b·S/G prompts.
		if want := 8 * s / 4; task.sampler.PromptsPerChunk() != want {
			t.Errorf("generation_aggregation_steps = %d: %d prompts per round, want %d", s, task.sampler.PromptsPerChunk(), want)
		}
	}
}

// TestCompletionLogProbsMatchFullForward checks the packed layout (rows of different prompt and
// completion lengths, right-padded, completions gathered per row) against each row run alone
// through the model's plain forward pass, with the log-softmax taken in float64.
func TestCompletionLogProbsMatchFullForward(t *testing.T) {
	m := loadTiny(t)
	rows := []*sampleRow{
		{Prompt: []int32{10, 11, 12}, Completion: []int32{20, 21, 22, 2}},
		{Prompt: []int32{13, 14, 15, 16, 17, 18, 19}, Completion: []int32{23}},
		{Prompt: []int32{30}, Completion: []int32{31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47}},
	}
	for _, r := range rows {
		r.LossMask = make([]float32, len(r.Completion))
	}
	p, err := newLogProber(m, grpo.LogProbsConfig{Temperature: 0.7})
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	got := map[int][]float32{}
	if err := p.fill(rows, 3, 0, func(r *sampleRow, lp []float32) {
		for i := range rows {
			if rows[i] == r {
				got[i] = append([]float32(nil), lp...)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		seq := append(append([]int32{}, r.Prompt...), r.Completion...)
		logits, err := m.ComputeLogits(model.LeftPad([][]int32{seq}, 0))
		if err != nil {
			t.Fatal(err)
		}
		v := m.Config.VocabSize
		flat := tensors.MustCopyFlatData[float32](logits)
		if len(got[i]) != len(r.Completion) {
			t.Fatalf("row %d: %d log-probs for %d completion tokens", i, len(got[i]), len(r.Completion))
		}
		for j, target := range r.Completion {
			z := flat[(len(r.Prompt)-1+j)*v : (len(r.Prompt)+j)*v]
			mx := math.Inf(-1)
			for _, x := range z {
				mx = math.Max(mx, float64(x)/0.7)
			}
			sum := 0.0
			for _, x := range z {
				sum += math.Exp(float64(x)/0.7 - mx)
			}
			want := float64(z[target])/0.7 - mx - math.Log(sum)
			if d := math.Abs(float64(got[i][j]) - want); d > 2e-5 {
				t.Errorf("row %d token %d: log-prob %.7f, full forward gives %.7f", i, j, got[i][j], want)
			}
		}
	}
}

// pairReward pays 1 for a completion containing "ab", else 0: most groups score alike, so most
// advantages are exactly zero.
type pairReward struct{}

func (pairReward) Name() string { return "ab" }
func (pairReward) Close() error { return nil }
func (pairReward) Score(_ context.Context, _ int64, samples []reward.Sample) (reward.Scores, error) {
	v := make([]float64, len(samples))
	for i, s := range samples {
		if strings.Contains(s.Completion, "ab") {
			v[i] = 1
		}
	}
	return reward.Scores{Values: v}, nil
}

// TestGRPOSkipsRowsWithoutGradient: with beta = 0, leaving out the rows whose advantage is zero
// (and padding the last chunk with inert rows) gives the same loss and gradient as running every
// row, for every loss_type, in fewer backward chunks.
func TestGRPOSkipsRowsWithoutGradient(t *testing.T) {
	for _, lt := range []string{"grpo", "bnpo", "dr_grpo", "dapo"} {
		t.Run(lt, func(t *testing.T) {
			var grads [][]float64
			var losses []float64
			var chunks []int
			for _, keep := range []bool{true, false} {
				cfg := grpoConfig(t, t.TempDir())
				cfg.LossType = lt
				cfg.GradientAccumulationSteps = 2
				cfg.BackpropAccumulationMicroBatchSize = ptrTo(2)
				cfg.NumIterations = 2 // clipped ratio to old log-probs: still zero for A = 0
				task, metrics, g, n := gradStepWith(t, cfg, pairReward{}, keep)
				zero := 0
				for _, r := range task.buffer.Rows {
					if r.Advantage == 0 {
						zero++
					}
				}
				if zero == 0 || zero == len(task.buffer.Rows) {
					t.Fatalf("%d of %d rows have a zero advantage: the case checks nothing", zero, len(task.buffer.Rows))
				}
				grads, losses, chunks = append(grads, g), append(losses, metrics["loss"]), append(chunks, n)
			}
			if diff, scale := maxDiff(grads[0], grads[1]); scale == 0 || diff > 1e-6*scale {
				t.Errorf("gradients differ by up to %g (largest %g) when rows without gradient are skipped", diff, scale)
			}
			if math.Abs(losses[0]-losses[1]) > 1e-7 {
				t.Errorf("loss %v with every row, %v skipping", losses[0], losses[1])
			}
			if chunks[1] >= chunks[0] {
				t.Errorf("skipping ran %d chunks, all rows %d: nothing was skipped", chunks[1], chunks[0])
			}
		})
	}
}

// TestGRPOStepRaisesAdvantagedCompletions: one update moves the policy the right way: the
// advantage-weighted mean log-probability of the step's own completions (the GRPO objective at
// ratio 1) goes up, completions with a positive advantage become more likely on average and
// those with a negative one less likely.
func TestGRPOStepRaisesAdvantagedCompletions(t *testing.T) {
	cfg := grpoConfig(t, t.TempDir())
	cfg.MaxSteps = 1
	cfg.LearningRate = 1e-3
	cfg.SaveStrategy = "no"
	cfg.SaveFinalModel = false
	tr, task, m := newGRPOTrainer(t, cfg, []reward.Reward{&letterReward{name: "a", letter: 'a'}}, Options{})
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows := task.buffer.Rows
	after := meanLogProbs(t, m, rows)
	// The weights before the update: a fresh fixture (the scripted generator ignores the weights,
	// so the rows are the same).
	before := meanLogProbs(t, loadTiny(t), rows)
	var objective, up, down float64
	var nUp, nDown int
	for _, r := range rows {
		d := after[r] - before[r]
		objective += r.Advantage * d
		switch {
		case r.Advantage > 0:
			up += d
			nUp++
		case r.Advantage < 0:
			down += d
			nDown++
		}
	}
	if nUp == 0 || nDown == 0 {
		t.Fatal("no positive or no negative advantages: the case checks nothing")
	}
	t.Logf("Σ A·Δlogp = %.5f; mean Δlogp %.5f for A > 0, %.5f for A < 0", objective, up/float64(nUp), down/float64(nDown))
	if !(objective > 0) || !(up/float64(nUp) > down/float64(nDown)) {
		t.Errorf("the update did not favour the advantaged completions: Σ A·Δlogp = %.5f, mean Δlogp %.5f (A > 0) vs %.5f (A < 0)",
			objective, up/float64(nUp), down/float64(nDown))
	}
}

// meanLogProbs is each row's mean completion log-probability under m.
func meanLogProbs(t *testing.T, m *model.Model, rows []*sampleRow) map[*sampleRow]float64 {
	t.Helper()
	p, err := newLogProber(m, grpo.LogProbsConfig{Temperature: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	out := map[*sampleRow]float64{}
	if err := p.fill(rows, 4, 0, func(r *sampleRow, lp []float32) {
		s := 0.0
		for _, v := range lp {
			s += float64(v)
		}
		out[r] = s / float64(max(len(lp), 1))
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGRPOGradientMatchesFiniteDifferences checks the trained gradient against central finite
// differences of the objective it differentiates. At ratio 1 the loss value is the constant −ΣA/N
// (its gradient flows through exp(logp − sg(logp))), so the differenced quantity is the surrogate
// J(θ) = Σ_i A_i · (mean over completion tokens of log π_θ) / (GA·b), whose gradient the grpo
// loss is −∇J — computed here by the no-gradient log-prob pass at θ ± ε, coordinate by coordinate.
func TestGRPOGradientMatchesFiniteDifferences(t *testing.T) {
	cfg := grpoConfig(t, t.TempDir())
	cfg.LossType = "grpo"
	task, _, grad, _ := gradStepWith(t, cfg, &letterReward{name: "a", letter: 'a'}, true)
	rows := task.buffer.Rows
	m := loadTiny(t)
	p, err := newLogProber(m, grpo.LogProbsConfig{Temperature: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	objective := func() float64 {
		j := 0.0
		if err := p.fill(rows, 8, 0, func(r *sampleRow, lp []float32) {
			s, n := 0.0, 0.0
			for k, v := range lp {
				s += float64(v) * float64(r.LossMask[k])
				n += float64(r.LossMask[k])
			}
			if n > 0 {
				j += r.Advantage * s / n
			}
		}); err != nil {
			t.Fatal(err)
		}
		return j / float64(len(rows))
	}
	// The coordinates with the largest gradients, a few per tensor kind.
	type coord struct {
		v    int
		i    int
		grad float64
	}
	vars := m.Variables()
	var picks []coord
	off := 0
	for vi, v := range vars {
		n := v.Shape().Size()
		best := coord{v: vi, i: -1}
		for i := range n {
			if g := grad[off+i]; best.i < 0 || math.Abs(g) > math.Abs(best.grad) {
				best = coord{v: vi, i: i, grad: g}
			}
		}
		if vi%3 == 0 && math.Abs(best.grad) > 1e-3 {
			picks = append(picks, best)
		}
		off += n
	}
	if len(picks) < 3 {
		t.Fatalf("only %d coordinates with a usable gradient", len(picks))
	}
	const eps = 1e-2
	for _, c := range picks {
		v := vars[c.v]
		orig := tensors.MustCopyFlatData[float32](v.MustValue())
		set := func(delta float64) {
			w := slices.Clone(orig)
			w[c.i] += float32(delta)
			if err := v.SetValue(tensors.FromFlatDataAndDimensions(w, v.Shape().Dimensions...)); err != nil {
				t.Fatal(err)
			}
		}
		set(eps)
		plus := objective()
		set(-eps)
		minus := objective()
		set(0)
		fd := (plus - minus) / (2 * eps)
		t.Logf("%s[%d]: gradient %.6g, finite differences %.6g", v.Path(), c.i, c.grad, -fd)
		if d := math.Abs(fd + c.grad); d > 5e-3*math.Abs(c.grad)+1e-6 {
			t.Errorf("%s[%d]: loss gradient %.6g, finite differences of −J give %.6g", v.Path(), c.i, c.grad, -fd)
		}
	}
}
