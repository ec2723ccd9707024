package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grpo-dev/grpo/core/tokenizer"
)

// qwen3Tokenizer loads the real Qwen3 tokenizer installed by scripts/setup.d/20-tokenizers.sh.
func qwen3Tokenizer(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	dir := os.Getenv("GRPO_TESTDATA_DIR")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "grpo", "testdata")
	}
	dir = filepath.Join(dir, "tokenizer-qwen3")
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		if os.Getenv("GRPO_REQUIRE_TESTDATA") == "1" {
			t.Fatalf("Qwen3 tokenizer missing: %v (run scripts/setup.d/20-tokenizers.sh)", err)
		}
		t.Skipf("Qwen3 tokenizer missing: %v", err)
	}
	tk, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestTokenizeCommand(t *testing.T) {
	tk := qwen3Tokenizer(t)
	// Reference ids from core/tokenizer/testdata/qwen3_parity.jsonl (HF tokenizers).
	in := "\"Hello, my dog is cute\"\n\n\"a    b\"\n\"<|im_start|>\"\n"
	var out bytes.Buffer
	if err := runTokenize(tk, strings.NewReader(in), &out, false, false, false); err != nil {
		t.Fatal(err)
	}
	want := "[9707,11,847,5562,374,18838]\n[64,262,293]\n[151644]\n"
	if out.String() != want {
		t.Errorf("encode output\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	if err := runTokenize(tk, strings.NewReader(want), &out, true, false, false); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "\"Hello, my dog is cute\"\n\"a    b\"\n\"<|im_start|>\"\n" {
		t.Errorf("decode output %q", got)
	}
	out.Reset()
	if err := runTokenize(tk, strings.NewReader("[151644,9707]\n"), &out, true, false, true); err != nil || out.String() != "\"Hello\"\n" {
		t.Errorf("decode --skip-special: %q, %v", out.String(), err)
	}
	err := runTokenize(tk, strings.NewReader("\"ok\"\nnot json\n"), &out, false, false, false)
	if err == nil || !strings.Contains(err.Error(), "stdin line 2") {
		t.Errorf("bad input: got %v, want an error naming stdin line 2", err)
	}
}
