package wasm

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"strings"
	"testing"
)

func TestScoreHealthy(t *testing.T) {
	for _, mode := range []string{SandboxInProcess, SandboxProcess} {
		t.Run(mode, func(t *testing.T) {
			opts := testOpts(t)
			if mode == SandboxProcess {
				opts = processOpts(t)
			}
			opts.ChunkSize, opts.Workers = 2, 2 // 5 items → 3 calls on 2 workers
			opts.Settings = map[string]any{"scale": 2.0}
			r := openReward(t, "sentinel", opts)
			if r.Name() != "sentinel" || r.Describe().Version != "1" {
				t.Errorf("describe = %+v", r.Describe())
			}
			sc, err := r.Score(context.Background(), 1, samples("a", "bb", "none", "dddd", ""))
			if err != nil {
				t.Fatal(err)
			}
			want := []float64{2, 4, math.NaN(), 8, 0} // 2 × len(completion); "none" → no score
			for i, w := range want {
				if g := sc.Values[i]; !(g == w || math.IsNaN(g) && math.IsNaN(w)) {
					t.Errorf("value[%d] = %v, want %v", i, g, w)
				}
			}
			if got := sc.Components["len"]; len(got) != 5 || got[1] != 2 || !math.IsNaN(got[2]) {
				t.Errorf("components[len] = %v", got)
			}
		})
	}
}

func TestSettingsRefused(t *testing.T) {
	opts := testOpts(t)
	opts.Settings = map[string]any{"scael": 2}
	_, err := OpenReward(context.Background(), fixtures.Path(t, "sentinel"), opts)
	if !errorsIs(err, ErrPluginError) || !strings.Contains(err.Error(), "scael") {
		t.Fatalf("misspelled setting: err = %v, want a plugin error naming the key", err)
	}
	opts.Settings = map[string]any{"x": 1}
	_, err = OpenReward(context.Background(), fixtures.Path(t, "trap"), opts)
	if !errorsIs(err, ErrInstantiate) || !strings.Contains(err.Error(), "grpo_configure") {
		t.Fatalf("settings for a plugin without grpo_configure: err = %v", err)
	}
}

// TestDeterminism: the same batch and seed give identical rewards across runs and pool sizes;
// another seed gives other rewards (the sentinel's "rand" items draw from (seed, offset+i)).
func TestDeterminism(t *testing.T) {
	var items []string
	for i := 0; i < 40; i++ {
		items = append(items, "rand", strings.Repeat("x", i))
	}
	score := func(workers int, seed int64) []float64 {
		opts := testOpts(t)
		opts.Workers, opts.ChunkSize = workers, 7
		r := openReward(t, "sentinel", opts)
		sc, err := r.Score(context.Background(), seed, samples(items...))
		if err != nil {
			t.Fatal(err)
		}
		sc2, err := r.Score(context.Background(), seed, samples(items...)) // warm instances, second run
		if err != nil {
			t.Fatal(err)
		}
		if !equalFloats(sc.Values, sc2.Values) {
			t.Fatalf("workers=%d: two runs differ", workers)
		}
		return sc.Values
	}
	a, b, c := score(1, 7), score(4, 7), score(2, 8)
	if !equalFloats(a, b) {
		t.Errorf("pool size 1 vs 4 differ:\n%v\n%v", a, b)
	}
	if equalFloats(a, c) {
		t.Errorf("seeds 7 and 8 gave identical random rewards")
	}
	if a[0] < 0 || a[0] >= 1 || a[0] == a[2] {
		t.Errorf("rand rewards look wrong: %v %v", a[0], a[2])
	}
}

func TestLogsCapturedAndCapped(t *testing.T) {
	var buf bytes.Buffer
	opts := testOpts(t)
	opts.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	opts.LogBytesPerCall = 64
	r := openReward(t, "sentinel", opts)
	if _, err := r.Score(context.Background(), 0, samples("log:hello-from-guest")); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "level=WARN msg=hello-from-guest stream=log") {
		t.Errorf("grpo_host.log line missing:\n%s", out)
	}
	if !strings.Contains(out, "msg=\"stdout: hello-from-guest\" stream=stdout") {
		t.Errorf("stdout line missing:\n%s", out)
	}
	buf.Reset()
	if _, err := r.Score(context.Background(), 0, samples("log:"+strings.Repeat("y", 200))); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); strings.Contains(out, strings.Repeat("y", 65)) || !strings.Contains(out, "log cap was dropped") {
		t.Errorf("log cap not applied:\n%s", out)
	}
}

func TestEmptyBatch(t *testing.T) {
	r := openReward(t, "sentinel", testOpts(t))
	sc, err := r.Score(context.Background(), 0, nil)
	if err != nil || len(sc.Values) != 0 {
		t.Fatalf("empty batch: %v, %v", sc, err)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}
