package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/grpo-dev/grpo/core/accel"
	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/model"
	"github.com/grpo-dev/grpo/core/model/hf"
	"github.com/grpo-dev/grpo/core/template"
)

// TestGenerateConfig: the generation keys come from the training configuration (its defaults
// and key=value overrides, with its error for unknown keys).
func TestGenerateConfig(t *testing.T) {
	s, err := generateConfig(nil, []string{"temperature=0", "top_p=0.9", "top_k=50", "min_p=0.05",
		"repetition_penalty=1.1", "max_completion_length=1024", "max_prompt_length=64", "num_generations=4", "seed=7"})
	if err != nil {
		t.Fatal(err)
	}
	sp := s.Sampling
	if sp.Temperature != 0 || sp.TopP != 0.9 || sp.TopK != 50 || sp.MinP != 0.05 || sp.RepetitionPenalty != 1.1 ||
		sp.MaxTokens != 1024 || s.MaxPromptTokens != 64 || s.N != 4 || sp.Seed != 7 {
		t.Fatalf("parsed %+v", s)
	}
	d, err := generateConfig(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	def := config.Default()
	if d.Sampling.Temperature != def.Temperature || d.Sampling.TopK != 0 || d.Sampling.MinP != 0 || d.Sampling.MaxTokens != def.MaxCompletionLength ||
		d.N != def.NumGenerations || d.MaxPromptTokens != def.MaxPromptLength || d.Sampling.Seed != def.Seed {
		t.Fatalf("defaults %+v, config defaults temperature %v", d, def.Temperature)
	}
	if _, err := generateConfig(nil, []string{"tempreature=1"}); err == nil || !strings.Contains(err.Error(), "tempreature") {
		t.Errorf("unknown key: error %v", err)
	}
}

func runApp(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &errOut
	if err := app.Run(context.Background(), append([]string{"grpo"}, args...)); err != nil {
		t.Fatalf("grpo %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), errOut.String()
}

// TestGenerateCommandIDs: prompt_ids rows on the transformers-made tiny Qwen2 (no tokenizer),
// greedy, JSON lines: prompt-major, N copies of the same greedy continuation of the right length,
// log-probs ≤ 0; the same command run twice prints the same thing.
func TestGenerateCommandIDs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "p.jsonl")
	if err := os.WriteFile(file, []byte("{\"prompt_ids\": [5, 6, 7, 8]}\n{\"prompt_ids\": [9, 10, 11]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"generate", "--model", "../../core/model/testdata/tiny-qwen2", "--data", file, "--json", "--ignore-eos",
		"temperature=0", "max_completion_length=7", "num_generations=2"}
	out, stderr := runApp(t, args...)
	if !strings.Contains(stderr, "4 completions, 28 tokens") {
		t.Fatalf("summary: %s", stderr)
	}
	var rows []completionJSON
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r completionJSON
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		rows = append(rows, r)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	for i, r := range rows {
		if r.Prompt != i/2 || r.Completion != i%2 || len(r.IDs) != 7 || r.FinishReason != "length" || len(r.LogProbs) != 7 {
			t.Fatalf("row %d: %+v", i, r)
		}
		for _, lp := range r.LogProbs {
			if lp > 0 {
				t.Fatalf("row %d: log-prob %v", i, lp)
			}
		}
	}
	if !slices.Equal(rows[0].IDs, rows[1].IDs) || !slices.Equal(rows[0].PromptIDs, []int32{5, 6, 7, 8}) {
		t.Fatalf("greedy completions of prompt 0 differ: %v %v", rows[0].IDs, rows[1].IDs)
	}
	again, _ := runApp(t, args...)
	if again != out {
		t.Fatal("the same command printed different completions")
	}
}

// TestGenerateCommandChat: a model directory with the real Qwen tokenizer: --chat renders the
// prompt with the chat template, the text output names every completion.
func TestGenerateCommandChat(t *testing.T) {
	tk := qwen3Tokenizer(t)
	dir := t.TempDir()
	cfg, err := hf.ParseConfig([]byte(`{"model_type": "qwen2", "vocab_size": 151936, "hidden_size": 16, "intermediate_size": 32,
		"num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "rms_norm_eps": 1e-6,
		"tie_word_embeddings": true, "max_position_embeddings": 512, "torch_dtype": "float32"}`), "config.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(cfg, model.Options{DType: dtypes.Float32, Backend: accel.MustShared()}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(dir, model.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	src := filepath.Dir(tk.Path())
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, _ := runApp(t, "generate", "--model", dir, "--chat", "--prompt", "What is 2+2?", "--prompt", "Hi", "--json",
		"max_completion_length=4", "num_generations=3", "temperature=1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	var r completionJSON
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatal(err)
	}
	want, err := tk.ApplyChatTemplate([]template.Message{{Role: "user", Content: "What is 2+2?"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.PromptText != want || !slices.Equal(r.PromptIDs, tk.Encode(want, false)) || r.Text != tk.Decode(r.IDs, true) {
		t.Fatalf("row 0: %+v; chat prompt %q", r, want)
	}
	text, _ := runApp(t, "generate", "--model", dir, "--prompt", "Hello", "max_completion_length=3", "num_generations=1")
	if !strings.HasPrefix(text, "=== prompt 0, completion 0 (") {
		t.Fatalf("text output: %q", text)
	}
}
