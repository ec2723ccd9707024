package data

import "math/rand/v2"

// Shuffle is a permutation and its inverse, for shuffle_generation_inputs: RLT permutes the
// gathered prompts before generation so that long and short generations spread over the
// generation workers, and puts the completions back in order afterwards
// (trainers/grpo.py:914-919, 993-999).
type Shuffle struct {
	// Perm[i] is the original position of the i-th shuffled element.
	Perm []int
	// Inverse[j] is the shuffled position of original element j.
	Inverse []int
}

// NewShuffle draws a permutation of n elements from (seed, round); the trainer passes its step
// as round so that every generation round gets its own, reproducible order.
func NewShuffle(n int, seed int64, round uint64) Shuffle {
	perm := rand.New(rand.NewPCG(uint64(seed)^0x5851f42d4c957f2d, round)).Perm(n)
	inv := make([]int, n)
	for i, p := range perm {
		inv[p] = i
	}
	return Shuffle{Perm: perm, Inverse: inv}
}

// Shuffled returns xs in shuffled order: out[i] = xs[s.Perm[i]].
func Shuffled[T any](s Shuffle, xs []T) []T {
	out := make([]T, len(xs))
	for i, p := range s.Perm {
		out[i] = xs[p]
	}
	return out
}

// Unshuffled undoes Shuffled on results computed in shuffled order: out[s.Perm[i]] = ys[i].
func Unshuffled[T any](s Shuffle, ys []T) []T {
	out := make([]T, len(ys))
	for i, p := range s.Perm {
		out[p] = ys[i]
	}
	return out
}
