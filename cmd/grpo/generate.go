package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v3"
	"golang.org/x/term"

	"github.com/grpo-dev/grpo/backends/local"
	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/generate"
	"github.com/grpo-dev/grpo/core/model"
	"github.com/grpo-dev/grpo/core/template"
	"github.com/grpo-dev/grpo/core/tokenizer"
)

// generateCmd is `grpo generate`: sample completions with the local GoMLX sampler.
var generateCmd = &cli.Command{
	Name:      "generate",
	Usage:     "sample completions from a model with the local sampler",
	ArgsUsage: "[key=value ...]",
	Description: `Samples completions of --prompt texts or of the prompts of a --data file, with the
sampling keys of the training configuration given as key=value:

  temperature (0.7; 0 = greedy), top_p (1), top_k (0 = off), min_p (0 = off),
  repetition_penalty (1), max_completion_length (256), max_prompt_length (512),
  num_generations (1), seed (42)

A --data file (.jsonl, .json, .parquet, .arrow) gives prompts as "prompt" strings (used as is),
"prompt" chat messages (rendered with the tokenizer's chat template and its generation prompt),
or "prompt_ids" token-id lists. --chat renders each --prompt as one user message instead.
Output is human-readable, or one JSON object per completion with --json.

  grpo generate --model Qwen/Qwen2.5-0.5B-Instruct --chat --prompt "What is 7*6?" temperature=0
  grpo generate --model ./ckpt --data eval.jsonl --json num_generations=4 > samples.jsonl`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "model", Usage: "model directory or Hugging Face id", Required: true},
		&cli.StringSliceFlag{Name: "prompt", Usage: "prompt text (repeatable)"},
		&cli.StringFlag{Name: "data", Usage: "data file of prompts"},
		&cli.BoolFlag{Name: "chat", Usage: "render each --prompt as a user message with the chat template"},
		&cli.BoolFlag{Name: "json", Usage: "print one JSON object per completion"},
		&cli.StringFlag{Name: "dtype", Value: "auto", Usage: "compute dtype: float32, bfloat16, float16 or auto (the checkpoint's)"},
		&cli.IntFlag{Name: "max-batch", Value: 256, Usage: "completion rows decoded together"},
		&cli.BoolFlag{Name: "ignore-eos", Usage: "always generate max_completion_length tokens"},
		&cli.StringFlag{Name: "loop", Value: "auto", Usage: "decode loop: auto, device (a While loop per segment) or host (one call per step)"},
	},
	Action: runGenerate,
}

func init() { register(generateCmd) }

// generateSettings are the sampling keys of `grpo generate`.
type generateSettings struct {
	Sampling        generate.Sampling
	N               int
	MaxPromptTokens int
}

// parseGenerateSettings reads the key=value arguments. The names and defaults are the training
// configuration's (GRPOConfig: temperature 0.7, top_p 1, max_prompt_length 512,
// max_completion_length 256, seed 42), except num_generations (1 here).
// TODO(lead): swap for config.Load("", overrides...) once core/config is on main.
func parseGenerateSettings(args []string) (generateSettings, error) {
	s := generateSettings{N: 1, MaxPromptTokens: 512, Sampling: generate.Sampling{
		Temperature: 0.7, TopP: 1, RepetitionPenalty: 1, MaxTokens: 256, Seed: 42}}
	for _, a := range args {
		key, value, ok := strings.Cut(a, "=")
		if !ok {
			return s, fmt.Errorf("argument %q is not key=value (e.g. temperature=0.8)", a)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		float := func(dst *float64) error {
			v, err := strconv.ParseFloat(strings.ReplaceAll(value, "_", ""), 64)
			if err != nil {
				return fmt.Errorf("%s=%s: want a number", key, value)
			}
			*dst = v
			return nil
		}
		integer := func(dst *int) error {
			v, err := strconv.Atoi(strings.ReplaceAll(value, "_", ""))
			if err != nil {
				return fmt.Errorf("%s=%s: want an integer", key, value)
			}
			*dst = v
			return nil
		}
		var err error
		switch key {
		case "temperature":
			err = float(&s.Sampling.Temperature)
		case "top_p":
			err = float(&s.Sampling.TopP)
		case "top_k":
			err = integer(&s.Sampling.TopK)
		case "min_p":
			err = float(&s.Sampling.MinP)
		case "repetition_penalty":
			err = float(&s.Sampling.RepetitionPenalty)
		case "max_completion_length":
			err = integer(&s.Sampling.MaxTokens)
		case "max_prompt_length":
			err = integer(&s.MaxPromptTokens)
		case "num_generations":
			err = integer(&s.N)
		case "seed":
			var v int
			err = integer(&v)
			s.Sampling.Seed = int64(v)
		default:
			return s, fmt.Errorf("unknown key %q; grpo generate takes temperature, top_p, top_k, min_p, repetition_penalty, max_completion_length, max_prompt_length, num_generations and seed", key)
		}
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

func runGenerate(ctx context.Context, c *cli.Command) error {
	settings, err := parseGenerateSettings(c.Args().Slice())
	if err != nil {
		return err
	}
	dtype, err := model.ParseDType(c.String("dtype"))
	if err != nil {
		return err
	}
	loop, err := parseLoop(c.String("loop"))
	if err != nil {
		return err
	}
	m, err := model.Load(ctx, c.String("model"), model.Options{DType: dtype})
	if err != nil {
		return err
	}
	tok, err := loadTokenizerIfPresent(m.Dir)
	if err != nil {
		return err
	}
	prompts, err := generatePrompts(c, tok)
	if err != nil {
		return err
	}
	opts := local.Options{MaxBatch: int(c.Int("max-batch")), IgnoreEOS: c.Bool("ignore-eos"), Loop: loop}
	bar := newGenerateBar(c.Root().ErrWriter, len(prompts)*settings.N)
	if bar != nil {
		opts.Progress = func(p local.Progress) {
			bar.Describe(fmt.Sprintf("batch %d/%d, token %d/%d", p.Batch+1, p.Batches, p.Step, p.MaxSteps))
			_ = bar.Set(p.Completions)
		}
	}
	gen, err := local.New(m, tok, opts)
	if err != nil {
		return err
	}
	defer gen.Close()
	start := time.Now()
	out, err := gen.Generate(ctx, generate.Request{Prompts: prompts, N: settings.N, Sampling: settings.Sampling, MaxPromptTokens: settings.MaxPromptTokens})
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if err := printCompletions(c.Root().Writer, prompts, out, settings.N, c.Bool("json")); err != nil {
		return err
	}
	st := gen.LastStats()
	fmt.Fprintf(c.Root().ErrWriter, "grpo generate: %d completions, %d tokens in %.2fs (%.0f tokens/s; prefill %.2fs, decode %.2fs, %d batches, backend %s, %s)\n",
		len(out), st.Tokens, elapsed.Seconds(), float64(st.Tokens)/elapsed.Seconds(), st.Prefill.Seconds(), st.Decode.Seconds(),
		st.Batches, m.Backend().Name(), m.DType())
	return nil
}

func parseLoop(s string) (local.LoopMode, error) {
	switch s {
	case "auto", "":
		return local.LoopAuto, nil
	case "device":
		return local.DeviceLoop, nil
	case "host":
		return local.HostLoop, nil
	}
	return 0, fmt.Errorf("--loop %q: use auto, device or host", s)
}

// loadTokenizerIfPresent loads the model directory's tokenizer, or returns nil when it has no
// tokenizer.json (then prompts must be token ids).
func loadTokenizerIfPresent(dir string) (*tokenizer.Tokenizer, error) {
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return tokenizer.Load(dir)
}

// generatePrompts collects the prompts of --prompt or --data.
func generatePrompts(c *cli.Command, tok *tokenizer.Tokenizer) ([]generate.Prompt, error) {
	texts, file := c.StringSlice("prompt"), c.String("data")
	if (len(texts) == 0) == (file == "") {
		return nil, errors.New("give prompts with --prompt TEXT (repeatable) or --data FILE, not both")
	}
	var chat data.ChatFormatter
	if tok != nil && tok.HasChatTemplate() {
		chat = tok.ApplyChatTemplate
	}
	if file == "" {
		out := make([]generate.Prompt, len(texts))
		for i, t := range texts {
			if c.Bool("chat") {
				if chat == nil {
					return nil, errors.New("--chat needs a tokenizer with a chat template (tokenizer_config.json chat_template)")
				}
				var err error
				if t, err = chat([]template.Message{{Role: "user", Content: t}}, true); err != nil {
					return nil, fmt.Errorf("--prompt %d: %w", i+1, err)
				}
			}
			out[i] = generate.Prompt{Text: t}
		}
		return out, nil
	}
	ds, err := data.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if ds.Len() == 0 {
		return nil, fmt.Errorf("%s has no rows", file)
	}
	if ds.HasColumn("prompt_ids") {
		return promptIDsOf(ds)
	}
	b, err := data.NewBuilder(data.PromptConfig{Format: data.FormatPrompt}, chat)
	if err != nil {
		return nil, err
	}
	exs, err := b.Prompts(ds)
	if err != nil {
		return nil, err
	}
	out := make([]generate.Prompt, len(exs))
	for i, ex := range exs {
		out[i] = generate.Prompt{Text: ex.Prompt}
	}
	return out, nil
}

// promptIDsOf reads the "prompt_ids" column (lists of token ids).
func promptIDsOf(ds *data.Dataset) ([]generate.Prompt, error) {
	out := make([]generate.Prompt, ds.Len())
	for i := range ds.Rows {
		v, err := ds.Value(i, "prompt_ids")
		if err != nil {
			return nil, err
		}
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			return nil, fmt.Errorf("%s: prompt_ids must be a non-empty list of token ids, got %v", ds.Where(i), v)
		}
		ids := make([]int32, len(list))
		for j, x := range list {
			n, ok := x.(int64)
			if !ok {
				if f, isFloat := x.(float64); isFloat && f == float64(int32(f)) {
					n, ok = int64(f), true
				}
			}
			if !ok || n < 0 || n > 1<<31-1 {
				return nil, fmt.Errorf("%s: prompt_ids[%d] = %v is not a token id", ds.Where(i), j, x)
			}
			ids[j] = int32(n)
		}
		out[i] = generate.Prompt{IDs: ids}
	}
	return out, nil
}

// completionJSON is one line of `grpo generate --json`.
type completionJSON struct {
	Prompt          int       `json:"prompt_index"`
	Completion      int       `json:"completion_index"`
	PromptText      string    `json:"prompt,omitempty"`
	PromptIDs       []int32   `json:"prompt_ids"`
	Text            string    `json:"completion"`
	IDs             []int32   `json:"completion_ids"`
	FinishReason    string    `json:"finish_reason"`
	LogProbs        []float32 `json:"logprobs"`
	SumLogProb      float64   `json:"sum_logprob"`
	NumPromptTokens int       `json:"num_prompt_tokens"`
}

func printCompletions(w io.Writer, prompts []generate.Prompt, out []generate.Completion, n int, asJSON bool) error {
	enc := json.NewEncoder(w)
	for i, c := range out {
		if asJSON {
			sum := 0.0
			for _, lp := range c.LogProbs {
				sum += float64(lp)
			}
			if err := enc.Encode(completionJSON{Prompt: c.Prompt, Completion: i % n, PromptText: prompts[c.Prompt].Text,
				PromptIDs: c.PromptIDs, Text: c.Text, IDs: c.IDs, FinishReason: c.FinishReason, LogProbs: c.LogProbs,
				SumLogProb: sum, NumPromptTokens: len(c.PromptIDs)}); err != nil {
				return err
			}
			continue
		}
		text := c.Text
		if text == "" && len(c.IDs) > 0 {
			text = fmt.Sprint(c.IDs) // no tokenizer: print the ids
		}
		if _, err := fmt.Fprintf(w, "=== prompt %d, completion %d (%d tokens, %s)\n%s\n", c.Prompt, i%n, len(c.IDs), c.FinishReason, text); err != nil {
			return err
		}
	}
	return nil
}

// newGenerateBar is a progress bar over completions on a terminal, nil otherwise.
func newGenerateBar(w io.Writer, total int) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetItsString("completion"),
		progressbar.OptionShowIts(),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}
