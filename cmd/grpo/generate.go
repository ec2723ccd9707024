package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v3"
	"golang.org/x/term"

	"github.com/grpo-dev/grpo/backends/local"
	"github.com/grpo-dev/grpo/core/config"
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
	ArgsUsage: "[RUN.toml] [key=value ...]",
	Description: `Samples completions of --prompt texts or of the prompts of a --data file with the
generation keys of the training configuration (a run file and/or key=value overrides, as for
grpo train): temperature (0 = greedy), top_p, top_k, min_p, repetition_penalty,
max_completion_length, max_prompt_length, num_generations, seed; model_name_or_path and
model_init_kwargs when --model is not given.

A --data file (.jsonl, .json, .parquet, .arrow) gives prompts as "prompt" strings (used as is),
"prompt" chat messages (rendered with the tokenizer's chat template and its generation prompt),
or "prompt_ids" token-id lists. --chat renders each --prompt as one user message instead.
Output is human-readable, or one JSON object per completion with --json.

  grpo generate --model Qwen/Qwen2.5-0.5B-Instruct --chat --prompt "What is 7*6?" temperature=0 num_generations=1
  grpo generate configs/run/arith.toml --data eval.jsonl --json num_generations=4 > samples.jsonl`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "model", Usage: "model directory or Hugging Face id (default: model_name_or_path)"},
		&cli.StringSliceFlag{Name: "prompt", Usage: "prompt text (repeatable)"},
		&cli.StringFlag{Name: "data", Usage: "data file of prompts"},
		&cli.BoolFlag{Name: "chat", Usage: "render each --prompt as a user message with the chat template"},
		&cli.BoolFlag{Name: "json", Usage: "print one JSON object per completion"},
		&cli.StringFlag{Name: "dtype", Value: "auto", Usage: "compute dtype: float32, bfloat16, float16 or auto (default: model_init_kwargs' torch_dtype, else the checkpoint's)"},
		&cli.StringSliceFlag{Name: "config-dir", Usage: "a config root searched first for group files (repeatable)", Sources: cli.EnvVars("GRPO_CONFIG_DIR"), TakesFile: true},
		&cli.IntFlag{Name: "max-batch", Value: 256, Usage: "completion rows decoded together"},
		&cli.BoolFlag{Name: "ignore-eos", Usage: "always generate max_completion_length tokens"},
		&cli.StringFlag{Name: "loop", Value: "auto", Usage: "decode loop: auto, device (a While loop per segment) or host (one call per step)"},
	},
	Action: runGenerate,
}

func init() { register(generateCmd) }

// generateSettings are the generation keys of the training configuration.
type generateSettings struct {
	Sampling        generate.Sampling
	N               int
	MaxPromptTokens int
	Config          *config.Config
}

// generateConfig composes the configuration of `grpo generate` / `grpo bench sampler`
// ([RUN.toml] [key=value ...], as `grpo train` reads it) and takes its generation keys.
func generateConfig(configDirs, args []string) (generateSettings, error) {
	runFile, overrides := splitRunFile(args)
	cfg, err := config.Composer{ConfigDirs: configDirs}.Load(runFile, overrides...)
	if err != nil {
		return generateSettings{}, err
	}
	s := generateSettings{N: cfg.NumGenerations, MaxPromptTokens: cfg.MaxPromptLength, Config: cfg,
		Sampling: generate.Sampling{Temperature: cfg.Temperature, TopP: cfg.TopP, RepetitionPenalty: cfg.RepetitionPenalty,
			MaxTokens: cfg.MaxCompletionLength, Seed: cfg.Seed}}
	if cfg.TopK != nil {
		s.Sampling.TopK = *cfg.TopK
	}
	if cfg.MinP != nil {
		s.Sampling.MinP = *cfg.MinP
	}
	return s, nil
}

func runGenerate(ctx context.Context, c *cli.Command) error {
	settings, err := generateConfig(c.StringSlice("config-dir"), c.Args().Slice())
	if err != nil {
		return err
	}
	loop, err := parseLoop(c.String("loop"))
	if err != nil {
		return err
	}
	m, err := loadGenerateModel(ctx, c, settings.Config)
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

// loadGenerateModel loads --model (default: model_name_or_path) with model_init_kwargs, --dtype
// winning over their torch_dtype.
func loadGenerateModel(ctx context.Context, c *cli.Command, cfg *config.Config) (*model.Model, error) {
	path := c.String("model")
	if path == "" {
		path = cfg.ModelNameOrPath
	}
	if path == "" {
		return nil, errors.New("no model: give --model DIR (or model_name_or_path in the run file or as key=value)")
	}
	opts, err := model.ParseInitKwargs(cfg.ModelInitKwargs)
	if err != nil {
		return nil, err
	}
	if c.IsSet("dtype") {
		if opts.DType, err = model.ParseDType(c.String("dtype")); err != nil {
			return nil, err
		}
	}
	return model.Load(ctx, path, opts)
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
