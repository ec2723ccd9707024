package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// demoTolerance is how far the measured greedy accuracy may stray from the stated one (a
// fraction: 0.01 is one point, two of the 196 held-out problems): greedy decoding is deterministic for a
// given machine, but matrix kernels that round differently (AVX-512, AVX2, portable Go; XLA)
// can flip an argmax near a tie and so a handful of answers.
const demoTolerance = 0.01

// TestDemoModelAccuracy loads the shipped demo model through the normal model path, decodes the
// held-out problems greedily with the local sampler, scores them with rewards/math.wasm, and
// checks the starting accuracy stated in configs/demo/expected.json (written by
// scripts/make-demo.sh).
func TestDemoModelAccuracy(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "configs/demo/expected.json"))
	if err != nil {
		t.Fatalf("the demo's stated accuracy: %v (scripts/make-demo.sh writes it)", err)
	}
	var want struct {
		Prompts        int     `json:"prompts"`
		GreedyAccuracy float64 `json:"greedy_accuracy"`
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	app := newApp()
	var out bytes.Buffer
	app.Writer = &out
	if err := app.Run(context.Background(), []string{"grpo", "eval", "configs/demo/sft.toml",
		"--plugin", "rewards/math.wasm", "--split", "test", "--k", "0", "--json"}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Prompts        int     `json:"prompts"`
		GreedyAccuracy float64 `json:"greedy_accuracy"`
		Unscored       int     `json:"unscored"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("grpo eval --json printed %q: %v", out.String(), err)
	}
	t.Logf("demo model: greedy accuracy %.1f%% on %d held-out problems (stated %.1f%%)", 100*got.GreedyAccuracy, got.Prompts, 100*want.GreedyAccuracy)
	if got.Prompts != want.Prompts || got.Unscored != 0 {
		t.Fatalf("evaluated %d prompts (%d unscored), the statement is about %d", got.Prompts, got.Unscored, want.Prompts)
	}
	if math.Abs(got.GreedyAccuracy-want.GreedyAccuracy) > demoTolerance {
		t.Fatalf("greedy accuracy %.1f%%, stated %.1f%% ± %.0f points", 100*got.GreedyAccuracy, 100*want.GreedyAccuracy, 100*demoTolerance)
	}
}
