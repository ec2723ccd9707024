package config

import "github.com/grpo-dev/grpo/core/generate"

// Values derived from several keys. They assume a configuration that passed Validate.

// GradientAccumulation returns the micro-steps per optimizer step in effect:
// train_batch_size / (per_device_train_batch_size × num_processes) when train_batch_size is
// set (RLT train.py:52-62), else gradient_accumulation_steps.
func (c *Config) GradientAccumulation() int {
	if c.TrainBatchSize != nil {
		if perStep := c.PerDeviceTrainBatchSize * c.NumProcesses; perStep > 0 {
			return *c.TrainBatchSize / perStep
		}
	}
	return c.GradientAccumulationSteps
}

// GlobalBatch returns the completions per optimizer step: per_device_train_batch_size ×
// num_processes × gradient accumulation.
func (c *Config) GlobalBatch() int {
	return c.PerDeviceTrainBatchSize * c.NumProcesses * c.GradientAccumulation()
}

// GenerationAggregation returns the micro-steps served by one generation round:
// generation_aggregation_steps, or 1 when unset (RLT grpo.py:306-323).
func (c *Config) GenerationAggregation() int {
	if c.GenerationAggregationSteps != nil {
		return *c.GenerationAggregationSteps
	}
	return 1
}

// GenerationBatch returns the completions sampled per generation round:
// per_device_train_batch_size × num_processes × GenerationAggregation. It holds
// GenerationBatch / num_generations distinct prompts.
func (c *Config) GenerationBatch() int {
	return c.PerDeviceTrainBatchSize * c.NumProcesses * c.GenerationAggregation()
}

// BackpropChunk returns the rows per forward/backward chunk of a micro-batch:
// backprop_accumulation_micro_batch_size, per_device_train_batch_size /
// backprop_accumulation_steps, or the whole micro-batch. (RLT divides the aggregated batch
// instead, grpo.py:346, which yields one chunk whenever generation_aggregation_steps > 1;
// research/rlt.md §2.5.)
func (c *Config) BackpropChunk() int {
	b := c.PerDeviceTrainBatchSize
	switch {
	case c.BackpropAccumulationMicroBatchSize != nil:
		return min(*c.BackpropAccumulationMicroBatchSize, b)
	case c.BackpropAccumulationSteps != nil && *c.BackpropAccumulationSteps > 0:
		return b / *c.BackpropAccumulationSteps
	}
	return b
}

// RewardWeightsOrOnes returns reward_weights, or 1.0 for each reward plugin when unset.
func (c *Config) RewardWeightsOrOnes() []float64 {
	if c.RewardWeights != nil {
		return append([]float64(nil), c.RewardWeights...)
	}
	w := make([]float64, len(c.Rewards))
	for i := range w {
		w[i] = 1
	}
	return w
}

// ClipHigh returns the upper clipping range: epsilon_high, or epsilon when unset.
func (c *Config) ClipHigh() float64 {
	if c.EpsilonHigh != nil {
		return *c.EpsilonHigh
	}
	return c.Epsilon
}

// ResumeLatest reports whether resume_from_checkpoint asks for the newest checkpoint in
// output_dir; ResumePath returns the checkpoint directory named instead ("" for none).
func (c *Config) ResumeLatest() bool {
	return c.ResumeFromCheckpoint != nil && *c.ResumeFromCheckpoint == "latest"
}

// ResumePath returns the checkpoint directory resume_from_checkpoint names, or "" when it is
// unset or "latest".
func (c *Config) ResumePath() string {
	if c.ResumeFromCheckpoint == nil || c.ResumeLatest() {
		return ""
	}
	return *c.ResumeFromCheckpoint
}

// Sampling returns the sampling parameters for a generation backend (top_k and min_p unset
// become 0, which disables them).
func (c *Config) Sampling() generate.Sampling {
	s := generate.Sampling{
		Temperature:       c.Temperature,
		TopP:              c.TopP,
		RepetitionPenalty: c.RepetitionPenalty,
		MaxTokens:         c.MaxCompletionLength,
		Seed:              c.Seed,
	}
	if c.TopK != nil {
		s.TopK = *c.TopK
	}
	if c.MinP != nil {
		s.MinP = *c.MinP
	}
	return s
}
