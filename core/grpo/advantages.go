package grpo

import (
	"errors"
	"fmt"
	"math"
)

// ScaleRewards selects the denominator of the advantages (TRL GRPOConfig.scale_rewards).
type ScaleRewards string

const (
	// ScaleGroup divides by the group's standard deviation (RLT, TRL v0.15 and TRL's default).
	ScaleGroup ScaleRewards = "group"
	// ScaleBatch divides by the standard deviation of the whole batch (PPO-Lite recipe).
	ScaleBatch ScaleRewards = "batch"
	// ScaleNone only centres the rewards (Dr. GRPO).
	ScaleNone ScaleRewards = "none"
)

// AdvantageEpsilon is added to the standard deviation before dividing (RLT trainers/grpo.py:1117,
// TRL v0.15.2 grpo_trainer.py:643, TRL HEAD grpo_trainer.py:2707).
const AdvantageEpsilon = 1e-4

// AdvantageConfig holds the GRPOConfig keys of the advantage computation.
type AdvantageConfig struct {
	// NumGenerations is G: rows [k·G, (k+1)·G) are the completions of prompt k.
	NumGenerations int
	// Weights are reward_weights, one per reward column; nil means 1 for every column.
	Weights []float64
	// Scale is scale_rewards; "" means ScaleGroup.
	Scale ScaleRewards
}

// RewardStats are the mean and standard deviation of one reward over the samples it scored.
type RewardStats struct {
	Mean, Std float64
	// Scored counts the samples with a value (not NaN).
	Scored int
}

// Advantages is the result of ComputeAdvantages for a batch of B·G samples.
type Advantages struct {
	// Values are the advantages Â_i, one per sample; 0 for unscorable samples.
	Values []float64
	// Rewards are the weighted totals R_i (NaN for unscorable samples).
	Rewards []float64
	// Unscorable marks samples that no reward scored (every column NaN).
	Unscorable []bool
	// GroupMean and GroupStd are per group (len B): nanmean and unbiased nanstd of R within the
	// group (NaN when the group has no / a single scored sample).
	GroupMean, GroupStd []float64
	// PerReward holds nanmean/nanstd of each reward column over the batch (TRL
	// rewards/<name>/mean and /std).
	PerReward []RewardStats
	// Reward is nanmean/nanstd of R over the batch (TRL reward and reward_std).
	Reward RewardStats
	// FracZeroStd is the fraction of samples whose scaling std is 0 (TRL frac_reward_zero_std:
	// with group scaling, the fraction of groups whose completions all got the same reward).
	FracZeroStd float64
}

// ComputeAdvantages turns reward columns into group-relative advantages (TRL HEAD
// grpo_trainer.py:2679-2730, multi_objective_aggregation "sum_then_normalize"; RLT
// trainers/grpo.py:1101-1117; TRL v0.15.2 grpo_trainer.py:632-643):
//
//	R_i = Σ_k w_k·r_ik over the columns that scored sample i (nansum); NaN if none did
//	Â_i = (R_i − nanmean_group(R)) / (σ + 1e-4)
//	σ   = nanstd_group(R) (scale "group"), nanstd_batch(R) ("batch"); no division for "none"
//
// nanstd is the unbiased (N−1) standard deviation of the non-NaN values, NaN for fewer than two
// (TRL utils.nanstd; torch's default std in RLT / TRL v0.15). An advantage that comes out NaN (an
// unscorable sample, or a group with a single scored sample) is 0 (TRL nan_to_num), so such a
// sample carries no gradient. columns[k][i] is reward k of sample i; NaN means "no score" and is
// never counted as 0. Rewards are computed in float64 on the host: they are B·G scalars.
func ComputeAdvantages(columns [][]float64, cfg AdvantageConfig) (*Advantages, error) {
	if len(columns) == 0 {
		return nil, errors.New("advantages: no reward columns (configure at least one reward)")
	}
	n := len(columns[0])
	for k, col := range columns {
		if len(col) != n {
			return nil, fmt.Errorf("advantages: reward %d scored %d samples, reward 0 scored %d: every reward must return one value per sample", k, len(col), n)
		}
		for i, r := range col {
			if math.IsInf(r, 0) {
				return nil, fmt.Errorf("advantages: reward %d gave sample %d the value %v: rewards must be finite, or NaN for \"no score\"", k, i, r)
			}
		}
	}
	g := cfg.NumGenerations
	if g < 1 {
		return nil, fmt.Errorf("advantages: num_generations = %d, must be >= 1", g)
	}
	if n == 0 || n%g != 0 {
		return nil, fmt.Errorf("advantages: %d samples is not a positive multiple of num_generations = %d", n, g)
	}
	weights := cfg.Weights
	if weights == nil {
		weights = make([]float64, len(columns))
		for k := range weights {
			weights[k] = 1
		}
	}
	if len(weights) != len(columns) {
		return nil, fmt.Errorf("advantages: reward_weights has %d entries for %d rewards: give one weight per reward", len(weights), len(columns))
	}
	scale := cfg.Scale
	if scale == "" {
		scale = ScaleGroup
	}
	if scale != ScaleGroup && scale != ScaleBatch && scale != ScaleNone {
		return nil, fmt.Errorf("advantages: scale_rewards = %q, must be one of group, batch, none", scale)
	}

	a := &Advantages{
		Values:     make([]float64, n),
		Rewards:    make([]float64, n),
		Unscorable: make([]bool, n),
		GroupMean:  make([]float64, n/g),
		GroupStd:   make([]float64, n/g),
		PerReward:  make([]RewardStats, len(columns)),
	}
	for i := range n {
		var sum float64
		scored := false
		for k, col := range columns {
			if !math.IsNaN(col[i]) {
				sum += weights[k] * col[i]
				scored = true
			}
		}
		if !scored {
			sum = math.NaN()
			a.Unscorable[i] = true
		}
		a.Rewards[i] = sum
	}

	// σ per sample: the group's (also computed for "none", for frac_reward_zero_std, as TRL does)
	// or the batch's. With G = 1 TRL uses 0 (only possible in evaluation).
	std := make([]float64, n)
	batchStd := 0.0
	if scale == ScaleBatch && n > 1 {
		batchStd = nanStd(a.Rewards)
	}
	for k := range n / g {
		group := a.Rewards[k*g : (k+1)*g]
		a.GroupMean[k] = nanMean(group)
		a.GroupStd[k] = nanStd(group)
		for i := k * g; i < (k+1)*g; i++ {
			switch {
			case scale == ScaleBatch:
				std[i] = batchStd
			case g > 1:
				std[i] = a.GroupStd[k]
			}
		}
	}
	zeroStd := 0
	for i := range n {
		adv := a.Rewards[i] - a.GroupMean[i/g]
		if scale != ScaleNone {
			adv /= std[i] + AdvantageEpsilon
		}
		if math.IsNaN(adv) {
			adv = 0
		}
		a.Values[i] = adv
		// torch.isclose(std, 0): |std| <= atol = 1e-8; NaN is never close.
		if math.Abs(std[i]) <= 1e-8 {
			zeroStd++
		}
	}
	a.FracZeroStd = float64(zeroStd) / float64(n)
	for k, col := range columns {
		a.PerReward[k] = rewardStats(col)
	}
	a.Reward = rewardStats(a.Rewards)
	return a, nil
}

func rewardStats(x []float64) RewardStats {
	s := RewardStats{Mean: nanMean(x), Std: nanStd(x)}
	for _, v := range x {
		if !math.IsNaN(v) {
			s.Scored++
		}
	}
	return s
}

// nanMean is the mean of the non-NaN values (NaN if there are none), as torch.nanmean.
func nanMean(x []float64) float64 {
	var sum float64
	count := 0
	for _, v := range x {
		if !math.IsNaN(v) {
			sum += v
			count++
		}
	}
	if count == 0 {
		return math.NaN()
	}
	return sum / float64(count)
}

// nanStd is the unbiased (Bessel-corrected) standard deviation of the non-NaN values, NaN for
// fewer than two, as TRL's utils.nanstd.
func nanStd(x []float64) float64 {
	mean := nanMean(x)
	var ss float64
	count := 0
	for _, v := range x {
		if !math.IsNaN(v) {
			ss += (v - mean) * (v - mean)
			count++
		}
	}
	if count < 2 {
		return math.NaN()
	}
	return math.Sqrt(ss / float64(count-1))
}
