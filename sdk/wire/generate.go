package wire

// KindGenerator is Describe.Kind of a generation backend plugin (process plugins only).
const KindGenerator = "generator"

// CapSyncWeights is the capability of a generation backend that can load new policy weights
// from a Hugging Face layout directory (SyncWeightsRequest).
const CapSyncWeights = "sync_weights"

// Status is the reply of calls that return nothing but may fail (Configure, SyncWeights):
// `{}` for success, `{"error": "..."}` for failure.
type Status struct {
	Error string `json:"error,omitempty"`
}

// Sampling mirrors core/generate.Sampling (Hugging Face semantics): temperature 0 is greedy,
// top_p 1, top_k 0, min_p 0 and repetition_penalty 1 disable their filters.
type Sampling struct {
	Temperature       float64 `json:"temperature"`
	TopP              float64 `json:"top_p"`
	TopK              int     `json:"top_k"`
	MinP              float64 `json:"min_p"`
	RepetitionPenalty float64 `json:"repetition_penalty"`
	MaxTokens         int     `json:"max_tokens"`
	Seed              int64   `json:"seed"`
}

// Prompt is one prompt as text or token ids (ids win when both are set).
type Prompt struct {
	Text string  `json:"text,omitempty"`
	IDs  []int32 `json:"ids,omitempty"`
}

// GenerateRequest mirrors core/generate.Request: N completions of each prompt.
type GenerateRequest struct {
	ABI             int      `json:"abi"`
	Prompts         []Prompt `json:"prompts"`
	N               int      `json:"n"`
	Sampling        Sampling `json:"sampling"`
	MaxPromptTokens int      `json:"max_prompt_tokens,omitempty"`
}

// Completion mirrors core/generate.Completion.
type Completion struct {
	Prompt       int       `json:"prompt"`
	PromptIDs    []int32   `json:"prompt_ids,omitempty"`
	IDs          []int32   `json:"ids,omitempty"`
	Text         string    `json:"text"`
	FinishReason string    `json:"finish_reason"`
	LogProbs     []float32 `json:"logprobs,omitempty"`
}

// GenerateResult is the reply to a GenerateRequest: len(Prompts)*N completions, prompt-major
// (completion j of prompt i at index i*N+j), or an error.
type GenerateResult struct {
	Completions []Completion `json:"completions,omitempty"`
	Error       string       `json:"error,omitempty"`
}

// SyncWeightsRequest asks a backend to generate with the weights saved in Dir (config.json +
// safetensors, Hugging Face layout) from now on; Step is the optimizer step they belong to.
// The backend must have read Dir when it replies: the host deletes it afterwards.
type SyncWeightsRequest struct {
	ABI  int    `json:"abi"`
	Dir  string `json:"dir"`
	Step int64  `json:"step"`
}
