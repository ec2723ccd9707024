package sdk_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/grpo-dev/grpo/plugins/wasm"
	"github.com/grpo-dev/grpo/plugins/wasm/wasmtest"
	"github.com/grpo-dev/grpo/sdk"
)

// TestScaffold: `grpo plugin new` projects build with their own build.sh, outside the
// repository, and score the sample data they ship with.
func TestScaffold(t *testing.T) {
	rows := readRows(t, "testdata/has_answer.jsonl")
	for _, lang := range sdk.Languages {
		t.Run(lang, func(t *testing.T) {
			examples.Path(t, lang) // the toolchain is there (else skip or fail as for the examples)
			dir := filepath.Join(t.TempDir(), "my-reward")
			if err := sdk.Scaffold(dir, lang, "my-reward"); err != nil {
				t.Fatal(err)
			}
			env := []string{"GRPO_RUST_OFFLINE=1", "CARGO_TARGET_DIR=" + filepath.Join(examples.Dir, "cargo"),
				"ASC=" + ascPath(t)}
			if err := wasmtest.Run(dir, env, "bash", "build.sh"); err != nil {
				t.Fatal(err)
			}
			r, err := wasm.OpenReward(context.Background(), filepath.Join(dir, "my-reward.wasm"), wasm.Options{
				CacheDir: filepath.Join(examples.Dir, "cache"), Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Name() != "my-reward" {
				t.Errorf("name = %q", r.Name())
			}
			sc, err := r.Score(context.Background(), 0, rows)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(sc.Values); got != "[1 0 1 1 1 NaN NaN 0 1]" {
				t.Errorf("rewards %s", got)
			}
		})
	}
	if err := sdk.Scaffold(t.TempDir(), "go", "x"); err == nil {
		t.Error("scaffold into an existing directory succeeded")
	}
	if err := sdk.Scaffold(filepath.Join(t.TempDir(), "p"), "cobol", "x"); err == nil {
		t.Error("unknown language accepted")
	}
}

func ascPath(t *testing.T) string {
	root, err := wasmtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "tools", "node_modules", ".bin", "asc")
}
