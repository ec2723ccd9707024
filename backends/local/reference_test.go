package local

import (
	"math"
	"sort"

	"github.com/grpo-dev/grpo/core/generate"
)

// hfScores is an independent float64 implementation of transformers' logits processors
// (generation/logits_process.py), applied in generate's order, written from their Python source:
// sorting, cumulative sums and all, as opposed to the bisections of processLogits. seen marks the
// tokens the repetition penalty applies to. Removed tokens are −∞.
func hfScores(logits []float64, seen []bool, s generate.Sampling) []float64 {
	v := len(logits)
	out := append([]float64(nil), logits...)
	if s.RepetitionPenalty != 1 { // RepetitionPenaltyLogitsProcessor
		for i := range out {
			if seen[i] {
				if out[i] < 0 {
					out[i] *= s.RepetitionPenalty
				} else {
					out[i] /= s.RepetitionPenalty
				}
			}
		}
	}
	if s.Temperature == 0 {
		return out
	}
	for i := range out { // TemperatureLogitsWarper
		out[i] /= s.Temperature
	}
	if s.TopK > 0 { // TopKLogitsWarper: scores < topk(scores, k)[..., -1]
		k := min(max(s.TopK, 1), v)
		sorted := append([]float64(nil), out...)
		sort.Sort(sort.Reverse(sort.Float64Slice(sorted)))
		kth := sorted[k-1]
		for i := range out {
			if out[i] < kth {
				out[i] = math.Inf(-1)
			}
		}
	}
	if s.TopP < 1 { // TopPLogitsWarper
		idx := make([]int, v)
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return out[idx[a]] < out[idx[b]] }) // ascending
		sortedScores := make([]float64, v)
		for i, j := range idx {
			sortedScores[i] = out[j]
		}
		probs := softmax64(sortedScores)
		cum := 0.0
		remove := make([]bool, v)
		for i := range probs {
			cum += probs[i]
			remove[i] = cum <= 1-s.TopP
		}
		remove[v-1] = false // min_tokens_to_keep = 1
		for i, j := range idx {
			if remove[i] {
				out[j] = math.Inf(-1)
			}
		}
	}
	if s.MinP > 0 { // MinPLogitsWarper
		probs := softmax64(out)
		top := 0.0
		for _, p := range probs {
			top = max(top, p)
		}
		for i, p := range probs {
			if p < s.MinP*top {
				out[i] = math.Inf(-1)
			}
		}
	}
	return out
}

// softmax64 is exp(s − max)/Σ in float64; −∞ gets 0.
func softmax64(s []float64) []float64 {
	m := math.Inf(-1)
	for _, x := range s {
		m = max(m, x)
	}
	out := make([]float64, len(s))
	sum := 0.0
	for i, x := range s {
		out[i] = math.Exp(x - m)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
