package tokenizer

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The real tokenizers are installed by scripts/setup.d/20-tokenizers.sh into
// ${GRPO_TESTDATA_DIR:-$HOME/.cache/grpo/testdata}/tokenizer-{qwen3,llama3}/.

func testdataDir() string {
	if d := os.Getenv("GRPO_TESTDATA_DIR"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "grpo", "testdata")
}

var (
	realMu   sync.Mutex
	realToks = map[string]*Tokenizer{}
)

// realTokenizer loads (once per test binary) the real tokenizer "qwen3" or "llama3". When its
// files are absent the test is skipped, or fails when GRPO_REQUIRE_TESTDATA=1 (CI).
func realTokenizer(tb testing.TB, name string) *Tokenizer {
	tb.Helper()
	realMu.Lock()
	defer realMu.Unlock()
	if t, ok := realToks[name]; ok {
		return t
	}
	dir := filepath.Join(testdataDir(), "tokenizer-"+name)
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		msg := "real tokenizer " + name + " is not installed (" + err.Error() +
			"); run scripts/setup.d/20-tokenizers.sh"
		if os.Getenv("GRPO_REQUIRE_TESTDATA") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	t, err := Load(dir)
	if err != nil {
		tb.Fatalf("loading %s: %v", dir, err)
	}
	realToks[name] = t
	return t
}
