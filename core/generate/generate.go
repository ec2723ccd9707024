// Package generate defines what the core knows about generation backends: an interface that
// samples completions for a batch of prompts. The local GoMLX sampler (backends/local), a vLLM
// server (backends/vllm) and third-party process plugins implement it; the trainer sees only
// this interface, so backends are swapped by configuration.
package generate

import (
	"context"
	"errors"
)

// ErrUnsupported is returned by optional operations a backend does not implement.
var ErrUnsupported = errors.New("operation not supported by this generation backend")

// Sampling holds the sampling parameters of GRPOConfig, with Hugging Face semantics.
type Sampling struct {
	// Temperature > 0 samples; 0 is greedy decoding (an explicit mode, never a default).
	Temperature float64
	TopP        float64 // 1 disables nucleus filtering
	TopK        int     // 0 disables top-k filtering
	MinP        float64 // 0 disables min-p filtering
	// RepetitionPenalty > 1 discourages tokens already in the prompt or completion (HF's
	// RepetitionPenaltyLogitsProcessor); 1 disables it.
	RepetitionPenalty float64
	MaxTokens         int // max_completion_length
	// Seed determines the randomness of one Generate call: the same request with the same seed
	// gives the same completions (backends/local: completion j of prompt i depends only on
	// (Seed, i, j), however the request is batched). Callers pass a different seed per call
	// (e.g. config seed + global step) to get fresh samples, as vLLM's per-request seed works.
	Seed int64
}

// Prompt is one prompt, as text or as token ids (ids win when both are set).
type Prompt struct {
	Text string
	IDs  []int32
}

// Request asks for N completions of each prompt.
type Request struct {
	Prompts []Prompt
	// N is the number of completions per prompt (num_generations when prompts are not already
	// repeated). Completions of one prompt share its prefill.
	N        int
	Sampling Sampling
	// MaxPromptTokens truncates longer prompts from the left (max_prompt_length); 0 = no limit.
	MaxPromptTokens int
}

// Finish reasons.
const (
	FinishStop   = "stop"   // the model emitted an end-of-sequence token
	FinishLength = "length" // max tokens reached
)

// Completion is one sampled continuation.
type Completion struct {
	Prompt    int     // index into Request.Prompts
	PromptIDs []int32 // the prompt as the model saw it, after truncation
	// IDs are the generated tokens, including the end-of-sequence token when it stopped.
	IDs          []int32
	Text         string // IDs decoded with special tokens skipped
	FinishReason string
	// LogProbs are the sampling log-probabilities of each chosen token, under the distribution
	// actually sampled from (after temperature and filtering); nil if the backend cannot report
	// them.
	LogProbs []float32
}

// WeightSource gives a backend access to the trained policy's current weights.
type WeightSource interface {
	// Step is the optimizer step the weights belong to.
	Step() int64
	// SaveHF writes the weights in the Hugging Face layout (config.json + safetensors) to dir.
	SaveHF(dir string) error
}

// Generator samples completions.
type Generator interface {
	// Generate returns len(Prompts)*N completions, prompt-major: completion j of prompt i is at
	// index i*N+j.
	Generate(ctx context.Context, req Request) ([]Completion, error)
	// SyncWeights makes the backend generate with the source's weights from now on. A backend
	// that shares the policy's memory (the local sampler) has nothing to do; one that cannot
	// update weights returns ErrUnsupported.
	SyncWeights(ctx context.Context, src WeightSource) error
	Close() error
}
