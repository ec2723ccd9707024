// Package sdk_test builds the example reward (has-answer) of every SDK — Go, C, Rust and
// AssemblyScript — and scores testdata/has_answer.jsonl through each: all four must give the
// same rewards, and the expected ones.
package sdk_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/grpo-dev/grpo/core/reward"
	"github.com/grpo-dev/grpo/plugins/wasm"
	"github.com/grpo-dev/grpo/plugins/wasm/wasmtest"
)

var examples *wasmtest.Set

// The languages and how each example builds (the same build.sh a newcomer runs).
var langs = []string{"go", "c", "rust", "assemblyscript"}

func TestMain(m *testing.M) {
	var err error
	if examples, err = wasmtest.NewSet(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var wg sync.WaitGroup
	for _, lang := range langs {
		out := filepath.Join(examples.Dir, lang+".wasm")
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch lang {
			case "go":
				examples.Go(lang, "", "./go/example")
			case "rust":
				examples.Command(lang, out, "rust/example", []string{"GRPO_RUST_OFFLINE=1", "CARGO_TARGET_DIR=" + filepath.Join(examples.Dir, "cargo")},
					"bash", "build.sh", out)
			default:
				examples.Command(lang, out, lang+"/example", nil, "bash", "build.sh", out)
			}
		}()
	}
	wg.Wait()
	code := m.Run()
	examples.Cleanup()
	os.Exit(code)
}

func readRows(t *testing.T, path string) []reward.Sample {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []reward.Sample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		s := reward.Sample{Prompt: row["prompt"].(string), Completion: row["completion"].(string), Metadata: map[string]any{}}
		for k, v := range row {
			if k != "prompt" && k != "completion" {
				s.Metadata[k] = v
			}
		}
		rows = append(rows, s)
	}
	return rows
}

func TestExamplesAgree(t *testing.T) {
	rows := readRows(t, "testdata/has_answer.jsonl")
	// Hand-derived: contains the string answer → 1; else 0; no string answer → no score.
	want := "[1 0 1 1 1 NaN NaN 0 1]"
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			r, err := wasm.OpenReward(context.Background(), examples.Path(t, lang), wasm.Options{
				Workers: 2, ChunkSize: 4, CacheDir: filepath.Join(examples.Dir, "cache"), Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if d := r.Describe(); d.Name != "has-answer" || d.Version != "1.0.0" || d.Kind != "reward" {
				t.Errorf("describe = %+v", d)
			}
			sc, err := r.Score(context.Background(), 3, rows)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(sc.Values); got != want {
				t.Errorf("%s rewards %s, want %s", lang, got, want)
			}
		})
	}
}
