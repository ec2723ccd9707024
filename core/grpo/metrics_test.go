package grpo

import (
	"math"
	"testing"
)

func TestStepMetrics(t *testing.T) {
	m := NewStepMetrics([]string{"accuracy", "format"}, true, true)
	a, err := ComputeAdvantages([][]float64{{1, 0, 1, 1}, {0.5, 0.5, nan, 1}}, AdvantageConfig{NumGenerations: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddRewards(a); err != nil {
		t.Fatal(err)
	}
	c, err := BuildCompletions([][]int32{{4, 9}, {4, 4, 4}, {9}, {4, 4}}, CompletionsConfig{Width: 3, EOS: []int32{9}})
	if err != nil {
		t.Fatal(err)
	}
	m.AddCompletions(c)
	// Two micro-batches of one optimizer step.
	stats1 := []float64{StatLoss: 0.25, StatKLSum: 0.5, StatEntropySum: 4, StatTokens: 8, StatClipLow: 1, StatClipHigh: 2, StatClipRegion: 3}
	stats2 := []float64{StatLoss: -0.05, StatKLSum: 0.1, StatEntropySum: 2, StatTokens: 2, StatClipLow: 0, StatClipHigh: 1, StatClipRegion: 1}
	if err := m.AddLoss(stats1, []float64{0.5, 0, nan, nan, 0.25, 0.75}); err != nil {
		t.Fatal(err)
	}
	if err := m.AddLoss(stats2, []float64{0, 1}); err != nil {
		t.Fatal(err)
	}
	m.EndOptimizerStep()
	v := m.Values()
	for name, want := range map[string]float64{
		"loss":                               0.2,
		"kl":                                 (0.5/8 + 0.1/2) / 2,
		"entropy":                            (4.0/8 + 2.0/2) / 2,
		"clip_ratio/low_mean":                (1.0 / 8) / 2,
		"clip_ratio/high_mean":               (2.0/8 + 1.0/2) / 2,
		"clip_ratio/region_mean":             (3.0/8 + 1.0/2) / 2,
		"clip_ratio/low_min":                 (0.25 + 0) / 2,
		"clip_ratio/high_max":                (0.75 + 1) / 2,
		"rewards/accuracy/mean":              0.75,
		"rewards/format/mean":                2.0 / 3,
		"reward":                             (1.5 + 0.5 + 1 + 2) / 4,
		"frac_reward_zero_std":               0,
		"completions/mean_length":            (2 + 3 + 1 + 2) / 4.0,
		"completions/min_length":             1,
		"completions/max_length":             3,
		"completions/clipped_ratio":          0.5,
		"completions/mean_terminated_length": 1.5,
		"completions/min_terminated_length":  1,
		"completions/max_terminated_length":  2,
	} {
		got, ok := v[name]
		if !ok {
			t.Errorf("metric %s missing", name)
			continue
		}
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("metric %s = %v, want %v", name, got, want)
		}
	}
	if err := m.AddLoss([]float64{1}, nil); err == nil {
		t.Error("AddLoss accepted a stats vector of the wrong length")
	}
}

func TestStepMetricsWithoutKL(t *testing.T) {
	m := NewStepMetrics(nil, false, false)
	if err := m.AddLoss(make([]float64, NumLossStats), []float64{nan, nan}); err != nil {
		t.Fatal(err)
	}
	v := m.Values()
	if _, ok := v["kl"]; ok {
		t.Error("kl logged with beta = 0")
	}
	if _, ok := v["entropy"]; ok {
		t.Error("entropy logged without entropies")
	}
	if !math.IsNaN(v["clip_ratio/low_min"]) {
		t.Errorf("low_min over sequences without tokens = %v, want NaN (TRL nanmin of all-NaN)", v["clip_ratio/low_min"])
	}
}
