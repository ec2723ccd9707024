package grpo

import (
	"fmt"
	"math"
	"slices"
)

// StepMetrics collects the metrics of one logging interval with TRL's names and semantics (TRL
// HEAD grpo_trainer.py:2228-2246, 2739-2750 and 3224-3253): every generation round and every
// micro-batch appends one value per metric, and Values reports their means, as TRL's log() does;
// "loss" is the sum of the micro-batch losses of each optimizer step, averaged over steps, as the
// Hugging Face Trainer reports it.
type StepMetrics struct {
	rewardNames   []string
	kl, entropy   bool
	values        map[string][]float64
	lossSum       float64
	lossBatches   int
	optimizerStep int
}

// NewStepMetrics starts an interval. rewardNames name the reward columns (rewards/<name>/...);
// withKL logs kl (β ≠ 0), withEntropy logs entropy (the loss received Entropy).
func NewStepMetrics(rewardNames []string, withKL, withEntropy bool) *StepMetrics {
	return &StepMetrics{
		rewardNames: slices.Clone(rewardNames),
		kl:          withKL,
		entropy:     withEntropy,
		values:      map[string][]float64{},
	}
}

func (m *StepMetrics) add(name string, v float64) { m.values[name] = append(m.values[name], v) }

// AddRewards records one generation round's reward statistics.
func (m *StepMetrics) AddRewards(a *Advantages) error {
	if len(a.PerReward) != len(m.rewardNames) {
		return fmt.Errorf("metrics: %d reward columns for %d reward names", len(a.PerReward), len(m.rewardNames))
	}
	for k, name := range m.rewardNames {
		m.add("rewards/"+name+"/mean", a.PerReward[k].Mean)
		m.add("rewards/"+name+"/std", a.PerReward[k].Std)
	}
	m.add("reward", a.Reward.Mean)
	m.add("reward_std", a.Reward.Std)
	m.add("frac_reward_zero_std", a.FracZeroStd)
	return nil
}

// AddCompletions records one generation round's completion lengths.
func (m *StepMetrics) AddCompletions(c *Completions) {
	if len(c.Lengths) == 0 {
		return
	}
	lengths := make([]float64, len(c.Lengths))
	var terminated []float64
	clipped := 0
	for i, n := range c.Lengths {
		lengths[i] = float64(n)
		if c.Truncated[i] {
			clipped++
		} else {
			terminated = append(terminated, float64(n))
		}
	}
	if len(terminated) == 0 {
		terminated = []float64{0} // TRL's edge case: no terminated sequence
	}
	m.add("completions/mean_length", mean(lengths))
	m.add("completions/min_length", slices.Min(lengths))
	m.add("completions/max_length", slices.Max(lengths))
	m.add("completions/clipped_ratio", float64(clipped)/float64(len(lengths)))
	m.add("completions/mean_terminated_length", mean(terminated))
	m.add("completions/min_terminated_length", slices.Min(terminated))
	m.add("completions/max_terminated_length", slices.Max(terminated))
}

// AddLoss records one micro-batch: stats are LossOutputs.Stats and seqClip LossOutputs.SeqClip
// ([B, 2], row-major) as fetched from the graph.
func (m *StepMetrics) AddLoss(stats, seqClip []float64) error {
	if len(stats) != NumLossStats {
		return fmt.Errorf("metrics: %d loss stats, want %d (LossOutputs.Stats)", len(stats), NumLossStats)
	}
	if len(seqClip)%2 != 0 {
		return fmt.Errorf("metrics: seqClip has %d values, want [B, 2] (LossOutputs.SeqClip)", len(seqClip))
	}
	m.lossSum += stats[StatLoss]
	m.lossBatches++
	tokens := math.Max(stats[StatTokens], 1)
	if m.kl {
		m.add("kl", stats[StatKLSum]/tokens)
	}
	if m.entropy {
		m.add("entropy", stats[StatEntropySum]/tokens)
	}
	m.add("clip_ratio/low_mean", stats[StatClipLow]/tokens)
	m.add("clip_ratio/high_mean", stats[StatClipHigh]/tokens)
	m.add("clip_ratio/region_mean", stats[StatClipRegion]/tokens)
	low, high := math.NaN(), math.NaN()
	for i := 0; i < len(seqClip); i += 2 {
		if l := seqClip[i]; !math.IsNaN(l) && (math.IsNaN(low) || l < low) {
			low = l
		}
		if h := seqClip[i+1]; !math.IsNaN(h) && (math.IsNaN(high) || h > high) {
			high = h
		}
	}
	m.add("clip_ratio/low_min", low)
	m.add("clip_ratio/high_max", high)
	return nil
}

// EndOptimizerStep closes an optimizer step: the micro-batch losses since the previous call sum
// to the step's loss.
func (m *StepMetrics) EndOptimizerStep() {
	if m.lossBatches == 0 {
		return
	}
	m.add("loss", m.lossSum)
	m.lossSum, m.lossBatches = 0, 0
	m.optimizerStep++
}

// Values returns the mean of each metric over the interval (TRL: sum(values)/len(values), so a
// NaN value, e.g. clip_ratio/low_min of a batch without tokens, makes the mean NaN as in TRL).
func (m *StepMetrics) Values() map[string]float64 {
	out := make(map[string]float64, len(m.values))
	for name, vs := range m.values {
		out[name] = mean(vs)
	}
	return out
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
