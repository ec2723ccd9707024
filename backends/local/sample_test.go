package local

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/grpo-dev/grpo/core/accel"
	"github.com/grpo-dev/grpo/core/generate"
)

// testLogits is the fixed logits vector of the statistical tests: positive and negative values
// (the repetition penalty treats them differently), no ties, a spread of magnitudes so that each
// warper removes a different set.
var testLogits = []float64{2.1, -0.4, 1.3, 0.2, -1.7, 3.0, 0.9, -0.1, 1.8, -2.6, 0.5, 2.6}

// testSeen marks the tokens "already generated" for the repetition penalty (one negative, two
// positive, one near zero).
var testSeen = []bool{false, true, false, false, true, true, false, true, false, false, false, false}

// sampleRun samples `rows` independent draws (one per row key) from testLogits at one step.
// It returns the tokens, their log-probs and the processed scores of the graph (first row).
func sampleRun(t *testing.T, s generate.Sampling, rows int, seed int64, step int32) (tok []int32, lp []float32, scores []float32) {
	t.Helper()
	proc := processorsFor(s)
	v := len(testLogits)
	exec, err := NewExec(accel.MustShared(), func(in []*Node) []*Node {
		logits, seen := in[0], in[1]
		prm := samplingInputsFrom(in[2 : 2+numSamplingValues])
		keys, stepN := in[2+numSamplingValues], in[3+numSamplingValues]
		r := keys.Shape().Dimensions[0]
		sc := processLogits(BroadcastToDims(logits, r, v), BroadcastToDims(seen, r, v), proc, prm)
		tk, l := chooseTokens(sc, stepKeys(keys, stepN), proc.Greedy)
		return []*Node{tk, l, Slice(sc, AxisRange(0, 1))}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	logits := make([]float32, v)
	for i, x := range testLogits {
		logits[i] = float32(x)
	}
	keys := make([]uint32, rows)
	for i := range keys {
		keys[i] = rowKey(seed, i, 0)
	}
	args := []any{[][]float32{logits}, [][]bool{testSeen}}
	args = append(args, samplingValues(s)...)
	args = append(args, keys, step)
	out, err := exec.Call(args...)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[int32](out[0]), tensors.MustCopyFlatData[float32](out[1]), tensors.MustCopyFlatData[float32](out[2])
}

// float32Logits rounds the test logits to float32 and back: the reference must see the values
// the graph sees.
func float32Logits() []float64 {
	out := make([]float64, len(testLogits))
	for i, x := range testLogits {
		out[i] = float64(float32(x))
	}
	return out
}

func baseSampling() generate.Sampling {
	return generate.Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: 1, MaxTokens: 1}
}

// TestSamplingMatchesHFDistribution draws 20,000 tokens per configuration from the graph sampler
// and compares them with the distribution of the float64 reference of transformers' processors:
// (1) the processed log-probs equal the reference's within 2e-5 and removed tokens are −∞ in
// both; (2) a chi-square goodness-of-fit test over the kept tokens (bins with expected count < 5
// merged) stays below the chi-square quantile at p = 1e-6; (3) removed tokens are never drawn;
// (4) each draw's reported log-prob is the reference log-prob of the drawn token.
func TestSamplingMatchesHFDistribution(t *testing.T) {
	const draws = 20000
	cases := []struct {
		name string
		mod  func(*generate.Sampling)
	}{
		{"temperature=1", func(s *generate.Sampling) {}},
		{"temperature=0.7", func(s *generate.Sampling) { s.Temperature = 0.7 }},
		{"temperature=1.6", func(s *generate.Sampling) { s.Temperature = 1.6 }},
		{"top_k=4", func(s *generate.Sampling) { s.TopK = 4 }},
		{"top_k=1", func(s *generate.Sampling) { s.TopK = 1 }},
		{"top_p=0.8", func(s *generate.Sampling) { s.TopP = 0.8 }},
		{"top_p=0.55", func(s *generate.Sampling) { s.TopP = 0.55 }},
		{"min_p=0.1", func(s *generate.Sampling) { s.MinP = 0.1 }},
		{"repetition_penalty=1.5", func(s *generate.Sampling) { s.RepetitionPenalty = 1.5 }},
		{"repetition_penalty=0.7", func(s *generate.Sampling) { s.RepetitionPenalty = 0.7 }},
		{"temperature=1.3,top_k=8,top_p=0.9", func(s *generate.Sampling) { s.Temperature, s.TopK, s.TopP = 1.3, 8, 0.9 }},
		{"all", func(s *generate.Sampling) {
			s.RepetitionPenalty, s.Temperature, s.TopK, s.TopP, s.MinP = 1.2, 0.8, 9, 0.95, 0.02
		}},
	}
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := baseSampling()
			c.mod(&s)
			want := hfScores(float32Logits(), testSeen, s)
			wantP := softmax64(want)
			tok, lp, scores := sampleRun(t, s, draws, int64(1000+ci), 3)

			// (1) processed distribution.
			gotLP := logSoftmax32(scores)
			for i := range want {
				wantLP := math.Log(wantP[i])
				if math.IsInf(wantLP, -1) != math.IsInf(gotLP[i], -1) {
					t.Fatalf("token %d: reference log-prob %v, graph %v (removed in one, kept in the other)", i, wantLP, gotLP[i])
				}
				if !math.IsInf(wantLP, -1) && math.Abs(wantLP-gotLP[i]) > 2e-5 {
					t.Fatalf("token %d: reference log-prob %.7f, graph %.7f", i, wantLP, gotLP[i])
				}
			}
			// (2)-(4) draws.
			counts := make([]int, len(want))
			for r, k := range tok {
				counts[k]++
				if wantP[k] == 0 {
					t.Fatalf("draw %d picked token %d, which the processors remove", r, k)
				}
				if d := math.Abs(float64(lp[r]) - math.Log(wantP[k])); d > 2e-5 {
					t.Fatalf("draw %d: log-prob %v for token %d, reference %v", r, lp[r], k, math.Log(wantP[k]))
				}
			}
			chi2, df := chiSquare(counts, wantP, draws)
			limit := chiSquareQuantile(df, 4.753) // upper tail p = 1e-6
			tv := totalVariation(counts, wantP, draws)
			t.Logf("chi2 = %.2f (df %d, limit %.2f), total variation %.4f, counts %v", chi2, df, limit, tv, counts)
			if df > 0 && chi2 > limit {
				t.Errorf("draws do not follow the reference distribution: chi2 = %.2f > %.2f (df %d); counts %v, probabilities %v", chi2, limit, df, counts, wantP)
			}
		})
	}
}

// TestGreedyIsArgmaxAfterPenalty checks temperature 0: every row takes the argmax of the
// penalised logits (token 5 = 3.0 is seen and penalised to 2.0, so token 11 = 2.6 wins), and
// the reported log-prob is log_softmax of the penalised logits.
func TestGreedyIsArgmaxAfterPenalty(t *testing.T) {
	s := baseSampling()
	s.Temperature, s.RepetitionPenalty = 0, 1.5
	want := hfScores(float32Logits(), testSeen, s)
	tok, lp, _ := sampleRun(t, s, 64, 7, 0)
	wantP := softmax64(want)
	for r, k := range tok {
		if k != 11 {
			t.Fatalf("row %d: greedy picked %d, want 11", r, k)
		}
		if d := math.Abs(float64(lp[r]) - math.Log(wantP[11])); d > 2e-5 {
			t.Fatalf("row %d: log-prob %v, want %v", r, lp[r], math.Log(wantP[11]))
		}
	}
}

// TestNoiseDependsOnKeyAndStepOnly: a row's draw depends on its key and the step, not on how many
// rows the batch has; other steps and seeds give other draws.
func TestNoiseDependsOnKeyAndStepOnly(t *testing.T) {
	s := baseSampling()
	a, _, _ := sampleRun(t, s, 300, 5, 2)
	b, _, _ := sampleRun(t, s, 37, 5, 2)
	for i := range b {
		if a[i] != b[i] {
			t.Fatalf("row %d drew %d in a batch of 300 rows and %d in a batch of 37", i, a[i], b[i])
		}
	}
	c, _, _ := sampleRun(t, s, 300, 5, 3)
	d, _, _ := sampleRun(t, s, 300, 6, 2)
	if same(a, c) > 150 || same(a, d) > 150 {
		t.Fatalf("changing the step or the seed barely changes the draws: %d and %d of 300 equal", same(a, c), same(a, d))
	}
}

func same(a, b []int32) int {
	n := 0
	for i := range a {
		if a[i] == b[i] {
			n++
		}
	}
	return n
}

// TestMix32MatchesHost checks the graph hash against its host twin on a few values.
func TestMix32MatchesHost(t *testing.T) {
	in := []uint32{0, 1, 2, 0xffffffff, 0x12345678, 0x9e3779b9}
	out, err := CallOnce(accel.MustShared(), func(x *Node) *Node { return mix32(x) }, in)
	if err != nil {
		t.Fatal(err)
	}
	got := tensors.MustCopyFlatData[uint32](out)
	for i, x := range in {
		if got[i] != mix32Host(x) {
			t.Fatalf("mix32(%#x): graph %#x, host %#x", x, got[i], mix32Host(x))
		}
	}
	if mix32Host(0x12345678) == mix32Host(0x12345679) {
		t.Fatal("mix32 maps neighbours to the same value")
	}
}

// TestOrderedKeys checks that the int32 keys of processLogits order floats as < does, with
// −0 = +0 and −∞ below every finite value.
func TestOrderedKeys(t *testing.T) {
	vals := []float32{float32(math.Inf(-1)), -3e38, -2.5, -1e-30, float32(math.Copysign(0, -1)), 0, 1e-30, 1.5, 3e38, float32(math.Inf(1))}
	out, err := CallOnce(accel.MustShared(), func(x *Node) *Node { return orderedKeys(x) }, vals)
	if err != nil {
		t.Fatal(err)
	}
	keys := tensors.MustCopyFlatData[int32](out)
	for i := 1; i < len(vals); i++ {
		equal := vals[i] == vals[i-1]
		if equal != (keys[i] == keys[i-1]) || (!equal && keys[i] <= keys[i-1]) {
			t.Fatalf("keys %v do not order %v", keys, vals)
		}
	}
}

func logSoftmax32(s []float32) []float64 {
	x := make([]float64, len(s))
	for i, v := range s {
		x[i] = float64(v)
	}
	p := softmax64(x)
	for i := range p {
		p[i] = math.Log(p[i])
	}
	return p
}

// chiSquare is Pearson's statistic over the tokens with p > 0, merging the smallest bins until
// every bin expects ≥ 5 draws; it returns the statistic and its degrees of freedom.
func chiSquare(counts []int, p []float64, n int) (float64, int) {
	type bin struct{ obs, exp float64 }
	var bins []bin
	for i := range p {
		if p[i] > 0 {
			bins = append(bins, bin{float64(counts[i]), p[i] * float64(n)})
		}
	}
	for len(bins) > 1 {
		small := -1
		for i, b := range bins {
			if b.exp < 5 && (small < 0 || b.exp < bins[small].exp) {
				small = i
			}
		}
		if small < 0 {
			break
		}
		other := (small + 1) % len(bins)
		bins[other].obs += bins[small].obs
		bins[other].exp += bins[small].exp
		bins = append(bins[:small], bins[small+1:]...)
	}
	chi := 0.0
	for _, b := range bins {
		chi += (b.obs - b.exp) * (b.obs - b.exp) / b.exp
	}
	return chi, len(bins) - 1
}

// chiSquareQuantile is the Wilson–Hilferty approximation of the chi-square quantile with df
// degrees of freedom at standard-normal quantile z.
func chiSquareQuantile(df int, z float64) float64 {
	k := float64(df)
	c := 1 - 2/(9*k) + z*math.Sqrt(2/(9*k))
	return k * c * c * c
}

func totalVariation(counts []int, p []float64, n int) float64 {
	tv := 0.0
	for i := range p {
		tv += math.Abs(float64(counts[i])/float64(n) - p[i])
	}
	return tv / 2
}

// TestSearchWays: the multisection searches of top-k and top-p give the same result whatever
// the number of thresholds per pass (1 on the Go backend, 15 on XLA), and agree with the float64
// reference's kept sets on 48 random rows of 300 scores (ties and −∞ included).
func TestSearchWays(t *testing.T) {
	const rows, vocab = 48, 300
	logits := make([][]float32, rows)
	x := uint32(7)
	for r := range logits {
		logits[r] = make([]float32, vocab)
		for v := range logits[r] {
			x = mix32Host(x + uint32(v))
			logits[r][v] = float32(int32(x%4000)-2000) / 250 // steps of 0.004: many ties
		}
		logits[r][r] = float32(math.Inf(-1))
	}
	s := baseSampling()
	s.TopK, s.TopP = 37, 0.83
	proc := processors{TopK: true, TopP: true}
	run := func(ways int) [][]float32 {
		forceSearchWays = ways
		defer func() { forceSearchWays = 0 }()
		out, err := CallOnce(accel.MustShared(), func(l *Node) *Node {
			g := l.Graph()
			vals := samplingValues(s)
			in := make([]*Node, len(vals))
			for i, v := range vals {
				in[i] = Const(g, v)
			}
			return processLogits(l, nil, proc, samplingInputsFrom(in))
		}, logits)
		if err != nil {
			t.Fatal(err)
		}
		return out.Value().([][]float32)
	}
	one := run(1)
	for _, ways := range []int{3, 15} {
		got := run(ways)
		for r := range got {
			for v := range got[r] {
				if got[r][v] != one[r][v] && !(math.IsInf(float64(got[r][v]), -1) && math.IsInf(float64(one[r][v]), -1)) {
					t.Fatalf("ways=%d row %d token %d: %v, bisection %v", ways, r, v, got[r][v], one[r][v])
				}
			}
		}
	}
	for r := range one {
		row := make([]float64, vocab)
		for v := range row {
			row[v] = float64(logits[r][v])
		}
		want := hfScores(row, make([]bool, vocab), s)
		for v := range want {
			if math.IsInf(want[v], -1) == math.IsInf(float64(one[r][v]), -1) {
				continue
			}
			// Allowed only for a tie: the reference's sort splits tied scores at the top-p
			// boundary, the search keeps or removes them together.
			ties := 0
			for u := range row {
				if row[u] == row[v] {
					ties++
				}
			}
			if ties < 2 {
				t.Fatalf("row %d token %d (score %v, no tie): reference %v, graph %v", r, v, row[v], want[v], one[r][v])
			}
		}
	}
	if n := searchPasses(1<<32+1, 15); n != 9 {
		t.Fatalf("15-way search of 2^32+1 keys takes %d passes, want 9", n)
	}
}
