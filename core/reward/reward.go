// Package reward defines what the core knows about reward functions: an interface that scores a
// batch of samples. Concrete rewards live elsewhere (WASM modules in plugins/wasm, processes in
// plugins/proc, built-ins); the trainer sees only this interface.
package reward

import "context"

// Sample is one completion to score, with the prompt it answers and the dataset row it came from.
type Sample struct {
	Prompt        string
	Completion    string
	PromptIDs     []int32
	CompletionIDs []int32
	// Metadata holds the row's other columns (e.g. "answer", "solution"); see
	// GRPOConfig.remove_unused_columns.
	Metadata map[string]any
}

// Scores is the result of scoring a batch.
type Scores struct {
	// Values has one entry per sample. NaN means "no score": the sample is left out of its
	// group's statistics (TRL semantics for a reward function returning None), never counted as 0.
	Values []float64
	// Components optionally breaks the reward into named parts (logged, not trained on).
	Components map[string][]float64
	// Info optionally carries one free-form object per sample, for completion logs.
	Info []map[string]any
}

// Reward scores batches. Implementations must be safe for use by one goroutine at a time; a
// host that scores in parallel does so inside one Score call.
type Reward interface {
	// Name identifies the reward in metrics ("rewards/<name>") and error messages.
	Name() string
	// Score returns one value per sample. The same samples and seed must give the same values.
	Score(ctx context.Context, seed int64, samples []Sample) (Scores, error)
	// Close releases the reward's resources (instances, processes).
	Close() error
}
