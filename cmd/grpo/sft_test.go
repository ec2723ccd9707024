package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grpo-dev/grpo/core/model"
	"github.com/grpo-dev/grpo/core/model/hf"
)

// fixtureModel copies core/model's tiny Qwen2 and a byte-level tokenizer for it into a
// temporary model directory.
func fixtureModel(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, src := range []string{"../../core/model/testdata/tiny-qwen2", "../../core/train/testdata/tiny-qwen2-tokenizer"} {
		entries, err := os.ReadDir(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// TestSFTCommand runs `grpo sft` end to end on the fixture: config composition from key=value,
// data, tokenizer, training, checkpoint and the final model with the tokenizer beside it.
func TestSFTCommand(t *testing.T) {
	modelDir := fixtureModel(t)
	work := t.TempDir()
	data := filepath.Join(work, "train.jsonl")
	var rows bytes.Buffer
	for i := range 6 {
		b, _ := json.Marshal(map[string]string{"prompt": "Q" + strings.Repeat("a", i) + "=", "completion": strings.Repeat("xy", 1+i%3)})
		rows.Write(append(b, '\n'))
	}
	if err := os.WriteFile(data, rows.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "out")
	args := []string{"grpo", "sft", "model_name_or_path=" + modelDir, "dataset_id_or_path=" + data,
		"dataset_format=prompt", "completion_only_training=true", "apply_chat_template=false",
		"max_steps=3", "per_device_train_batch_size=2", "gradient_accumulation_steps=1", "max_seq_length=32",
		"learning_rate=1e-3", "logging_steps=1", "save_steps=2", "output_dir=" + out}
	app := newApp()
	var stdout bytes.Buffer
	app.Writer = &stdout
	if err := app.Run(context.Background(), args); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[2], "step 3/3") {
		t.Fatalf("progress lines:\n%s", stdout.String())
	}
	for _, f := range []string{"checkpoint-2/model.safetensors", "checkpoint-3/optimizer.bin", "metrics.jsonl", "model.safetensors", "tokenizer.json", "config.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Fatalf("output_dir lacks %s: %v", f, err)
		}
	}
	before, err := model.LoadDir(modelDir, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	after, err := model.LoadDir(out, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Config.VocabSize != before.Config.VocabSize {
		t.Fatalf("saved config differs: %+v", after.Config)
	}
	changed := false
	for i, v := range after.Variables() {
		a, b := v.MustValue(), before.Variables()[i].MustValue()
		var ab, bb []byte
		_ = a.ConstBytes(func(p []byte) { ab = append(ab, p...) })
		_ = b.ConstBytes(func(p []byte) { bb = append(bb, p...) })
		changed = changed || !bytes.Equal(ab, bb)
	}
	if !changed {
		t.Fatal("the final model equals the initial one")
	}
	if _, err := hf.ReadConfig(out); err != nil {
		t.Fatal(err)
	}

	// algorithm = "grpo" is refused with the reason.
	err = newApp().Run(context.Background(), append(args[:len(args):len(args)], "algorithm=grpo"))
	if err == nil || !strings.Contains(err.Error(), "grpo run") {
		t.Fatalf("algorithm=grpo: %v", err)
	}
}
