package wasm

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"

	"github.com/grpo-dev/grpo/core/reward"
)

// TestExtismGoPDK runs a reward written with github.com/extism/go-pdk (v1.1.3) through the
// adapter: input, output, error, config, vars and logging.
func TestExtismGoPDK(t *testing.T) {
	var logs bytes.Buffer
	opts := testOpts(t)
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	opts.Settings = map[string]any{"bonus": 0.5}
	opts.Workers = 1
	r := openReward(t, "extism", opts)
	if r.Name() != "extism" {
		t.Errorf("name = %q, want the file name", r.Name())
	}
	in := []reward.Sample{
		{Completion: "it is 42", Metadata: map[string]any{"answer": "42"}},
		{Completion: "it is 41", Metadata: map[string]any{"answer": "42"}},
		{Completion: "no answer column"},
	}
	for call := 1; call <= 2; call++ {
		sc, err := r.Score(context.Background(), 0, in)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Values[0] != 1.5 || sc.Values[1] != 0.5 || !math.IsNaN(sc.Values[2]) {
			t.Errorf("values = %v, want [1.5 0.5 NaN]", sc.Values)
		}
	}
	if !strings.Contains(logs.String(), "extism reward call 2") { // vars persist across calls
		t.Errorf("log missing or vars not kept:\n%s", logs.String())
	}
	_, err := r.Score(context.Background(), 0, []reward.Sample{{Completion: "fail"}})
	if !errors.Is(err, ErrPluginError) || !strings.Contains(err.Error(), "asked to fail") {
		t.Errorf("error_set: err = %v", err)
	}
}

// TestExtismASPDK runs a reward written with @extism/as-pdk 1.0.0 (AssemblyScript).
func TestExtismASPDK(t *testing.T) {
	var logs bytes.Buffer
	opts := testOpts(t)
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	opts.Settings = map[string]any{"needle": "42"}
	r := openReward(t, "extism-as", opts)
	sc, err := r.Score(context.Background(), 0, samples("it is 42", "it is 41", "4 2"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Values[0] != 1 || sc.Values[1] != 0 || sc.Values[2] != 0 {
		t.Errorf("values = %v, want [1 0 0]", sc.Values)
	}
	if !strings.Contains(logs.String(), "as-pdk scored 3") {
		t.Errorf("log line missing:\n%s", logs.String())
	}
	_, err = r.Score(context.Background(), 0, samples("fail"))
	if !errors.Is(err, ErrPluginError) || !strings.Contains(err.Error(), `"reward" export returned 1`) {
		t.Errorf("failure: err = %v", err)
	}
}
