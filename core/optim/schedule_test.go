package optim

import (
	"math"
	"strings"
	"testing"
)

// The expected values below are worked out by hand from the formulas of
// transformers/optimization.py (comments show the arithmetic), not computed by the code under test.
func TestScheduleHandDerived(t *testing.T) {
	type point struct {
		step int64
		want float64 // λ(step)
	}
	cases := []struct {
		name   string
		cfg    ScheduleConfig
		points []point
	}{
		{"linear T=10 w=2", ScheduleConfig{Type: "linear", LearningRate: 1, NumTrainingSteps: 10, WarmupSteps: 2},
			[]point{{0, 0}, {1, 0.5}, {2, 1}, {5, 0.625} /* (10-5)/8 */, {10, 0}, {12, 0}}},
		{"default type is linear", ScheduleConfig{LearningRate: 1, NumTrainingSteps: 4},
			[]point{{0, 1}, {1, 0.75}, {3, 0.25}}},
		{"cosine T=10 w=2", ScheduleConfig{Type: "cosine", LearningRate: 1, NumTrainingSteps: 10, WarmupSteps: 2},
			[]point{{1, 0.5}, {2, 1}, {4, 0.8535533905932737} /* ½(1+cos(π/4)) */, {6, 0.5}, {10, 0}}},
		{"cosine_with_restarts 2 cycles", ScheduleConfig{Type: "cosine_with_restarts", LearningRate: 1, NumTrainingSteps: 10,
			Kwargs: map[string]any{"num_cycles": int64(2)}},
			[]point{{0, 1}, {2, 0.6545084971874737} /* ½(1+cos(0.4π)) */, {5, 1}, {7, 0.6545084971874737}, {10, 0}}},
		{"polynomial power 2", ScheduleConfig{Type: "polynomial", LearningRate: 1e-3, NumTrainingSteps: 10, WarmupSteps: 2,
			Kwargs: map[string]any{"power": 2.0}},
			// step 6: remaining ½ → (1e-3−1e-7)·¼ + 1e-7 = 2.50075e-4, /1e-3
			[]point{{1, 0.5}, {6, 0.250075}, {10, 1e-4}, {12, 1e-4}}},
		{"constant ignores warmup", ScheduleConfig{Type: "constant", LearningRate: 1, WarmupSteps: 5},
			[]point{{0, 1}, {3, 1}, {1000, 1}}},
		{"constant_with_warmup w=4", ScheduleConfig{Type: "constant_with_warmup", LearningRate: 1, WarmupSteps: 4},
			[]point{{0, 0}, {1, 0.25}, {4, 1}, {99, 1}}},
		{"inverse_sqrt w=4", ScheduleConfig{Type: "inverse_sqrt", LearningRate: 1, WarmupSteps: 4},
			[]point{{2, 0.5}, {4, 1}, {16, 0.5} /* 1/sqrt(16/4) */}},
		{"inverse_sqrt no warmup: timescale 10000", ScheduleConfig{Type: "inverse_sqrt", LearningRate: 1},
			[]point{{0, 1}, {20000, 0.5773502691896258} /* 1/sqrt((20000+10000)/10000) */}},
		{"cosine_with_min_lr rate 0.1", ScheduleConfig{Type: "cosine_with_min_lr", LearningRate: 1, NumTrainingSteps: 10,
			Kwargs: map[string]any{"min_lr_rate": 0.1}},
			[]point{{0, 1}, {5, 0.55} /* ½·0.9+0.1 */, {10, 0.1}}},
		{"cosine_with_min_lr min_lr", ScheduleConfig{Type: "cosine_with_min_lr", LearningRate: 1e-4, NumTrainingSteps: 10,
			Kwargs: map[string]any{"min_lr": 1e-5}},
			[]point{{5, 0.55}, {10, 0.1}}},
		{"cosine_warmup_with_min_lr", ScheduleConfig{Type: "cosine_warmup_with_min_lr", LearningRate: 1, NumTrainingSteps: 12,
			WarmupSteps: 4, Kwargs: map[string]any{"min_lr_rate": 0.0}},
			// warm-up (s+1)/4; decay progress (s−4+1)/8: step 4 → ½(1+cos(π/8))
			[]point{{0, 0.25}, {3, 1}, {4, 0.9619397662556434}}},
		{"warmup_stable_decay", ScheduleConfig{Type: "warmup_stable_decay", LearningRate: 1, NumTrainingSteps: 10,
			WarmupSteps: 2, Kwargs: map[string]any{"num_decay_steps": int64(4)}},
			// stable = 10−2−4 = 4
			[]point{{1, 0.5}, {2, 1}, {5, 1}, {6, 1}, {8, 0.5}, {10, 0}, {20, 0}}},
		{"warmup_stable_decay 1-sqrt, min ratio", ScheduleConfig{Type: "warmup_stable_decay", LearningRate: 1, NumTrainingSteps: 10,
			WarmupSteps: 2, Kwargs: map[string]any{"num_decay_steps": 4.0, "warmup_type": "1-sqrt", "min_lr_ratio": 0.1}},
			// step 1: (1−sqrt(½))·0.9+0.1; step 8: ½·0.9+0.1
			[]point{{1, 0.3636038969321072}, {8, 0.55}, {11, 0.1}}},
	}
	for _, c := range cases {
		s, err := NewSchedule(c.cfg)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, p := range c.points {
			if got := s.Factor(p.step); math.Abs(got-p.want) > 1e-12 {
				t.Errorf("%s: λ(%d) = %.15g, want %.15g", c.name, p.step, got, p.want)
			}
			if got, want := s.LR(p.step), c.cfg.LearningRate*p.want; math.Abs(got-want) > 1e-12*math.Max(1, want) {
				t.Errorf("%s: LR(%d) = %g, want %g", c.name, p.step, got, want)
			}
		}
	}
}

func TestWarmupSteps(t *testing.T) {
	for _, c := range []struct {
		n            int
		steps, ratio float64
		want         int
	}{
		{100, 0, 0, 0},
		{10, 0, 0.15, 2},  // ceil(1.5)
		{101, 0, 0.1, 11}, // ceil(10.1)
		{50, 7, 0.5, 7},   // steps win when > 0
		{50, 0.1, 0, 5},   // transformers ≥5: warmup_steps < 1 is a ratio
		{33, 0.1, 0.9, 4}, // ceil(3.3), the ratio form of warmup_steps wins over warmup_ratio
	} {
		got, err := WarmupSteps(c.n, c.steps, c.ratio)
		if err != nil || got != c.want {
			t.Errorf("WarmupSteps(%d, %g, %g) = %d, %v; want %d", c.n, c.steps, c.ratio, got, err, c.want)
		}
	}
	for _, bad := range [][2]float64{{-1, 0}, {2.5, 0}, {0, 1.5}, {0, -0.1}} {
		if _, err := WarmupSteps(10, bad[0], bad[1]); err == nil {
			t.Errorf("WarmupSteps(10, %g, %g) accepted", bad[0], bad[1])
		}
	}
}

func TestScheduleErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  ScheduleConfig
		want string
	}{
		{ScheduleConfig{Type: "cosine_annealing", LearningRate: 1}, "unknown lr_scheduler_type"},
		{ScheduleConfig{Type: "linear", LearningRate: 1}, "number of training steps"},
		{ScheduleConfig{Type: "linear", LearningRate: 1, NumTrainingSteps: 5, Kwargs: map[string]any{"num_cycles": 1.0}}, "num_cycles"},
		{ScheduleConfig{Type: "cosine_with_min_lr", LearningRate: 1, NumTrainingSteps: 5}, "min_lr"},
		{ScheduleConfig{Type: "cosine_with_min_lr", LearningRate: 1, NumTrainingSteps: 5,
			Kwargs: map[string]any{"min_lr": 0.1, "min_lr_rate": 0.1}}, "only one"},
		{ScheduleConfig{Type: "polynomial", LearningRate: 1e-8, NumTrainingSteps: 5}, "lr_end"},
		{ScheduleConfig{Type: "warmup_stable_decay", LearningRate: 1, NumTrainingSteps: 5}, "num_decay_steps"},
		{ScheduleConfig{Type: "warmup_stable_decay", LearningRate: 1, NumTrainingSteps: 5,
			Kwargs: map[string]any{"num_decay_steps": 2.0, "decay_type": "exp"}}, "decay_type"},
		{ScheduleConfig{Type: "cosine", LearningRate: 1, NumTrainingSteps: 5, Kwargs: map[string]any{"num_cycles": "half"}}, "want a number"},
		{ScheduleConfig{Type: "reduce_lr_on_plateau", LearningRate: 1}, "evaluation metrics"},
		{ScheduleConfig{Type: "linear", LearningRate: math.NaN(), NumTrainingSteps: 5}, "learning_rate"},
	} {
		_, err := NewSchedule(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewSchedule(%+v): error %v, want one mentioning %q", c.cfg, err, c.want)
		}
	}
}
