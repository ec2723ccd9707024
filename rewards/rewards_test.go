// Package rewards_test checks the shipped reward plugins: the committed .wasm files are exactly
// what scripts/build-rewards.sh builds from the sources here, and each .wasm scores like its
// native twin (builtin:NAME).
package rewards_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/grpo-dev/grpo/core/reward"
	"github.com/grpo-dev/grpo/plugins/builtin"
	"github.com/grpo-dev/grpo/plugins/wasm"
	"github.com/grpo-dev/grpo/plugins/wasm/wasmtest"
)

var shipped = []string{"math", "format", "length"}

// TestReproducible rebuilds the shipped plugins and compares them byte for byte with the
// committed files.
func TestReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("rebuilds the shipped plugins")
	}
	out := t.TempDir()
	if err := wasmtest.Run("..", nil, "bash", "scripts/build-rewards.sh", out); err != nil {
		t.Fatal(err)
	}
	for _, name := range shipped {
		want, err := os.ReadFile(name + ".wasm")
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, name+".wasm"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("rewards/%s.wasm differs from a rebuild of rewards/%s (%d vs %d bytes): run scripts/build-rewards.sh and commit the result",
				name, name, len(want), len(got))
		}
	}
}

// TestWASMMatchesNative scores the same rows through each shipped .wasm and its builtin twin.
func TestWASMMatchesNative(t *testing.T) {
	rows := []reward.Sample{
		{Completion: `<think>2+2</think><answer>\boxed{4}</answer>`, Metadata: map[string]any{"answer": "4"}},
		{Completion: "The answer is 1,000.", Metadata: map[string]any{"answer": 1000.0}},
		{Completion: `so $\dfrac{1}{2}$`, Metadata: map[string]any{"solution": `\boxed{0.5}`}},
		{Completion: "I don't know", Metadata: map[string]any{"answer": "7"}},
		{Completion: "no reference here: 3"},
		{Completion: "#### -12", Metadata: map[string]any{"answer": "−12"}},
	}
	settings := map[string]map[string]any{
		"math":   nil,
		"format": {"strict": true},
		"length": {"target": 20},
	}
	for _, name := range shipped {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			native, err := builtin.OpenReward(name, settings[name])
			if err != nil {
				t.Fatal(err)
			}
			w, err := wasm.OpenReward(ctx, name+".wasm", wasm.Options{Settings: settings[name], Workers: 1,
				CacheDir: filepath.Join(t.TempDir(), "cache"), Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if w.Name() != name {
				t.Errorf("describe name = %q", w.Name())
			}
			a, err := native.Score(ctx, 1, rows)
			if err != nil {
				t.Fatal(err)
			}
			b, err := w.Score(ctx, 1, rows)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(a.Values) != fmt.Sprint(b.Values) {
				t.Errorf("native %v != wasm %v", a.Values, b.Values)
			}
			if name == "math" {
				want := []float64{1, 1, 1, 0, math.NaN(), 1}
				if fmt.Sprint(a.Values) != fmt.Sprint(want) {
					t.Errorf("math values %v, want %v", a.Values, want)
				}
			}
		})
	}
}
