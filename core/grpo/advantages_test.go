package grpo

import (
	"math"
	"strings"
	"testing"
)

var nan = math.NaN()

func closeTo(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

// TestAdvantagesHandDerived checks group scaling on values worked out by hand: group 0 rewards
// 1, 2, 3 (mean 2, unbiased std 1), group 1 rewards 5, 5, 5 (std 0).
func TestAdvantagesHandDerived(t *testing.T) {
	a, err := ComputeAdvantages([][]float64{{1, 2, 3, 5, 5, 5}}, AdvantageConfig{NumGenerations: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{-1 / 1.0001, 0, 1 / 1.0001, 0, 0, 0}
	for i, w := range want {
		if !closeTo(a.Values[i], w, 1e-12) {
			t.Fatalf("advantage %d = %v, want %v", i, a.Values[i], w)
		}
	}
	if !closeTo(a.GroupStd[0], 1, 1e-15) || !closeTo(a.GroupStd[1], 0, 0) {
		t.Fatalf("group std %v, want [1 0]", a.GroupStd)
	}
	if a.FracZeroStd != 0.5 {
		t.Fatalf("frac_reward_zero_std %v, want 0.5", a.FracZeroStd)
	}
	// reward = mean(1,2,3,5,5,5) = 3.5; Σ(r−3.5)² = 6.25+2.25+0.25+3·2.25 = 15.5, unbiased std √(15.5/5).
	if !closeTo(a.Reward.Mean, 3.5, 1e-15) || !closeTo(a.Reward.Std, math.Sqrt(15.5/5), 1e-12) {
		t.Fatalf("reward %v ± %v, want 3.5 ± %v", a.Reward.Mean, a.Reward.Std, math.Sqrt(15.5/5))
	}
}

func TestAdvantagesScaleModes(t *testing.T) {
	rewards := [][]float64{{0, 4, 10, 14}}
	// Group means 2 and 12, group stds √8 each; batch std of {0,4,10,14}: mean 7,
	// Σd² = 49+9+9+49 = 116, std √(116/3).
	for _, tc := range []struct {
		scale ScaleRewards
		want  []float64
	}{
		{ScaleGroup, []float64{-2 / (math.Sqrt(8) + 1e-4), 2 / (math.Sqrt(8) + 1e-4), -2 / (math.Sqrt(8) + 1e-4), 2 / (math.Sqrt(8) + 1e-4)}},
		{ScaleBatch, []float64{-2 / (math.Sqrt(116.0/3) + 1e-4), 2 / (math.Sqrt(116.0/3) + 1e-4), -2 / (math.Sqrt(116.0/3) + 1e-4), 2 / (math.Sqrt(116.0/3) + 1e-4)}},
		{ScaleNone, []float64{-2, 2, -2, 2}},
	} {
		a, err := ComputeAdvantages(rewards, AdvantageConfig{NumGenerations: 2, Scale: tc.scale})
		if err != nil {
			t.Fatal(err)
		}
		for i := range tc.want {
			if !closeTo(a.Values[i], tc.want[i], 1e-12) {
				t.Fatalf("%s: advantage %d = %v, want %v", tc.scale, i, a.Values[i], tc.want[i])
			}
		}
	}
}

// TestAdvantagesWeightsAndNaN checks reward_weights, NaN exclusion (never counted as 0) and
// unscorable samples (advantage 0).
func TestAdvantagesWeightsAndNaN(t *testing.T) {
	// Two rewards, G = 4. Sample 1: reward A says nothing (NaN), reward B gives 2 → R = 0.5·2 = 1.
	// Sample 3: both NaN → unscorable. Group R = {2+0.5·0, 1, 4+0.5·2, NaN} = {2, 1, 5, NaN}.
	colA := []float64{2, nan, 4, nan}
	colB := []float64{0, 2, 2, nan}
	a, err := ComputeAdvantages([][]float64{colA, colB}, AdvantageConfig{NumGenerations: 4, Weights: []float64{1, 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	// mean of {2,1,5} = 8/3; unbiased std: d = {-2/3, -5/3, 7/3}, Σd² = (4+25+49)/9 = 78/9, /2 → 13/3.
	mean, std := 8.0/3, math.Sqrt(13.0/3)
	want := []float64{(2 - mean) / (std + 1e-4), (1 - mean) / (std + 1e-4), (5 - mean) / (std + 1e-4), 0}
	for i := range want {
		if !closeTo(a.Values[i], want[i], 1e-12) {
			t.Fatalf("advantage %d = %v, want %v", i, a.Values[i], want[i])
		}
	}
	if !a.Unscorable[3] || a.Unscorable[1] || !math.IsNaN(a.Rewards[3]) {
		t.Fatalf("unscorable %v rewards %v: only sample 3 is unscorable", a.Unscorable, a.Rewards)
	}
	// Per-reward stats over the samples each reward scored.
	if !closeTo(a.PerReward[0].Mean, 3, 1e-15) || !closeTo(a.PerReward[0].Std, math.Sqrt2, 1e-12) || a.PerReward[0].Scored != 2 {
		t.Fatalf("reward A stats %+v, want mean 3 std √2 over 2", a.PerReward[0])
	}
	if !closeTo(a.PerReward[1].Mean, 4.0/3, 1e-15) || a.PerReward[1].Scored != 3 {
		t.Fatalf("reward B stats %+v, want mean 4/3 over 3", a.PerReward[1])
	}
	if !closeTo(a.Reward.Mean, mean, 1e-15) {
		t.Fatalf("reward mean %v, want %v", a.Reward.Mean, mean)
	}
}

// TestAdvantagesSingleScoredSample: a group with one scored sample has NaN std (TRL nanstd with
// count 1), so its advantage is 0, not ±1e4.
func TestAdvantagesSingleScoredSample(t *testing.T) {
	a, err := ComputeAdvantages([][]float64{{nan, 3, nan, 1, 2, 3}}, AdvantageConfig{NumGenerations: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if a.Values[i] != 0 {
			t.Fatalf("advantage %d = %v, want 0 (single scored sample in its group)", i, a.Values[i])
		}
	}
	if !math.IsNaN(a.GroupStd[0]) {
		t.Fatalf("group 0 std %v, want NaN", a.GroupStd[0])
	}
	if a.FracZeroStd != 0 {
		t.Fatalf("frac_reward_zero_std %v: NaN std is not zero std", a.FracZeroStd)
	}
	if !closeTo(a.Values[3], -1/(1+1e-4), 1e-12) {
		t.Fatalf("group 1 advantage %v", a.Values[3])
	}
}

func TestAdvantagesErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		columns [][]float64
		cfg     AdvantageConfig
		want    string
	}{
		{"no columns", nil, AdvantageConfig{NumGenerations: 2}, "no reward columns"},
		{"ragged", [][]float64{{1, 2}, {1}}, AdvantageConfig{NumGenerations: 2}, "reward 1 scored 1 samples"},
		{"not multiple", [][]float64{{1, 2, 3}}, AdvantageConfig{NumGenerations: 2}, "multiple of num_generations"},
		{"bad G", [][]float64{{1, 2}}, AdvantageConfig{}, "num_generations"},
		{"weights", [][]float64{{1, 2}}, AdvantageConfig{NumGenerations: 2, Weights: []float64{1, 2}}, "reward_weights"},
		{"scale", [][]float64{{1, 2}}, AdvantageConfig{NumGenerations: 2, Scale: "std"}, "scale_rewards"},
		{"inf", [][]float64{{1, math.Inf(1)}}, AdvantageConfig{NumGenerations: 2}, "sample 1"},
	} {
		_, err := ComputeAdvantages(tc.columns, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
