package train

import "time"

// stepTimes splits one GRPO step's wall time. The skeleton adds timing/step_s (the whole step,
// the AdamW update included) and timing/tokens_per_s. Every wall-clock metric lives under
// "timing/", so that two runs can be compared on the other, deterministic metrics.
type stepTimes struct {
	sync       time.Duration // Generator.SyncWeights and the reference-model sync
	generation time.Duration // Generator.Generate
	scoring    time.Duration // the reward plugins
	logProbs   time.Duration // old and reference log-probs (no gradient)
	update     time.Duration // forward and backward passes of the loss
	genTokens  int           // completion tokens generated
}

// into adds the timings to metrics; trained is the number of tokens the loss ran over.
func (s stepTimes) into(m map[string]float64, trained int) {
	m["timing/sync_s"] = s.sync.Seconds()
	m["timing/generation_s"] = s.generation.Seconds()
	m["timing/scoring_s"] = s.scoring.Seconds()
	m["timing/logprobs_s"] = s.logProbs.Seconds()
	m["timing/update_s"] = s.update.Seconds()
	if s.generation > 0 && s.genTokens > 0 {
		m["timing/generation_tokens_per_s"] = float64(s.genTokens) / s.generation.Seconds()
	}
	if s.update > 0 && trained > 0 {
		m["timing/update_tokens_per_s"] = float64(trained) / s.update.Seconds()
	}
}
