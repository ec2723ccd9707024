package proc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"log/slog"

	"github.com/grpo-dev/grpo/core/generate"
	"github.com/grpo-dev/grpo/core/reward"
)

// The example rewards in Go (sdk/go/examples/lastnumber) and Python
// (sdk/python/examples/lastnumber) must score the same JSONL identically, and as derived by hand
// from the rule in package grade.

// requirePython skips (or, under GRPO_REQUIRE_TESTDATA=1 as in CI, fails) when Debian's python3
// lacks grpcio/cryptography (scripts/setup.d/30-python-grpc.sh installs them).
func requirePython(t *testing.T) {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import grpc, cryptography").Run(); err != nil {
		if os.Getenv("GRPO_REQUIRE_TESTDATA") == "1" {
			t.Fatalf("/usr/bin/python3 cannot import grpc and cryptography (%v): run scripts/setup.d/30-python-grpc.sh", err)
		}
		t.Skipf("python3-grpcio not installed (%v); run scripts/setup.d/30-python-grpc.sh", err)
	}
}

// buildGoExample compiles the Go example plugin into a temp dir.
func buildGoExample(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lastnumber")
	cmd := exec.Command("go", "build", "-o", bin, "../../sdk/go/examples/lastnumber")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the Go example: %v\n%s", err, out)
	}
	return bin
}

// readRows turns a JSONL of {prompt, completion, other columns} into samples, the other columns
// becoming metadata (as `grpo reward` does).
func readRows(t *testing.T, path string) []reward.Sample {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []reward.Sample
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		s := reward.Sample{Prompt: row["prompt"].(string), Completion: row["completion"].(string), Metadata: map[string]any{}}
		for k, v := range row {
			if k != "prompt" && k != "completion" {
				s.Metadata[k] = v
			}
		}
		out = append(out, s)
	}
	return out
}

func TestExamplesScoreIdentically(t *testing.T) {
	requirePython(t)
	rows := readRows(t, "testdata/lastnumber.jsonl")
	// By hand, from the rule in sdk/go/examples/lastnumber/grade (NaN = null = no score).
	nan := math.NaN()
	want := []float64{1, 1, 1, 1, 0, 0, nan, 0, 0, 1, nan, 0, 1, 1}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, %d expectations", len(rows), len(want))
	}
	plugins := map[string]string{
		"go":     buildGoExample(t),
		"python": "../../sdk/python/examples/lastnumber/lastnumber.py",
	}
	for lang, path := range plugins {
		t.Run(lang, func(t *testing.T) {
			r, err := OpenReward(context.Background(), path, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Name() != "lastnumber" || r.Describe().Version != "1.0.0" {
				t.Errorf("describe = %+v", r.Describe())
			}
			info, err := Inspect(context.Background(), path)
			if err != nil || info.Describe.Kind != "reward" || info.Describe.Name != "lastnumber" || !info.MTLS || info.Protocol != 1 {
				t.Errorf("inspect = %+v, %v", info, err)
			}
			got, err := r.Score(context.Background(), 1, rows)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if !(got.Values[i] == want[i] || math.IsNaN(got.Values[i]) && math.IsNaN(want[i])) {
					t.Errorf("row %d (%q vs answer %v): %s scored %v, want %v", i+1,
						rows[i].Completion, rows[i].Metadata["answer"], lang, got.Values[i], want[i])
				}
			}
			// The answer_column setting renames the reference column.
			r2, err := OpenReward(context.Background(), path, map[string]any{"answer_column": "solution"}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r2.Close()
			got, err = r2.Score(context.Background(), 1, []reward.Sample{
				{Completion: "x = 5", Metadata: map[string]any{"solution": "5", "answer": "6"}},
			})
			if err != nil || got.Values[0] != 1 {
				t.Errorf("answer_column=solution: %v %v", got.Values, err)
			}
			_, err = OpenReward(context.Background(), path, map[string]any{"answer_column": 3}, Options{})
			if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), "answer_column must be a non-empty string") {
				t.Errorf("bad setting: %v", err)
			}
		})
	}
	assertNoChildren(t)
}

func TestPythonPluginFaults(t *testing.T) {
	requirePython(t)
	h := &syncHandler{}
	opts := Options{Timeout: 2 * time.Second, Backoff: 10 * time.Millisecond, Logger: slog.New(h)}
	r, err := OpenReward(context.Background(), "testdata/crashy.py", nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.h.cur.mtls {
		t.Error("the Python plugin did not negotiate AutoMTLS")
	}
	got, err := r.Score(context.Background(), 0, samples("abc", "LOG:from python"))
	if err != nil || got.Values[0] != 3 {
		t.Fatalf("%v %v", got.Values, err)
	}
	_, err = r.Score(context.Background(), 0, samples("RAISE"))
	if !errors.Is(err, ErrPlugin) || !strings.Contains(err.Error(), "ValueError: crashy cannot grade this") {
		t.Errorf("raise: %v", err)
	}
	_, err = r.Score(context.Background(), 0, samples("NAN"))
	if !errors.Is(err, ErrPlugin) || !strings.Contains(err.Error(), "never NaN") {
		t.Errorf("nan: %v", err)
	}
	_, err = r.Score(context.Background(), 0, samples("CRASH"))
	var pe *Error
	if !errors.As(err, &pe) || !errors.Is(err, ErrCrashed) || pe.Exit != "exit status 5" ||
		!strings.Contains(strings.Join(pe.Stderr, "\n"), "crashy: exiting on purpose code=5") {
		t.Errorf("crash: %v", err)
	}
	_, err = r.Score(context.Background(), 0, samples("HANG"))
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("hang: %v", err)
	}
	if got, err := r.Score(context.Background(), 0, samples("ok")); err != nil || got.Values[0] != 2 {
		t.Fatalf("after faults: %v %v", got.Values, err)
	}
	if rec, ok := h.find("from python"); !ok || rec.Level.String() != "WARN" {
		t.Errorf("python log line: found=%v level=%v", ok, rec.Level)
	}
	began := time.Now()
	r.Close()
	// A plugin that ignores Shutdown is SIGKILLed after go-plugin's 2 s wait; faster means it stopped itself.
	if d := time.Since(began); d > 1900*time.Millisecond {
		t.Errorf("closing the Python plugin took %v: GRPCController.Shutdown did not stop it", d)
	}
	assertNoChildren(t)
}

// TestEchoBackendEndToEnd drives the example generation backend through generate.Generator, as
// `--backend ./echo-backend` does.
func TestEchoBackendEndToEnd(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "echo-backend")
	if out, err := exec.Command("go", "build", "-o", bin, "../../sdk/go/examples/echo-backend").CombinedOutput(); err != nil {
		t.Fatalf("building the echo backend: %v\n%s", err, out)
	}
	g, err := OpenGenerator(context.Background(), bin, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	req := generate.Request{
		Prompts:  []generate.Prompt{{Text: "abcdef"}, {IDs: []int32{7, 8, 9}}},
		N:        3,
		Sampling: generate.Sampling{Temperature: 1, MaxTokens: 3},
		// "abcdef" keeps its last 4 tokens: "cdef".
		MaxPromptTokens: 4,
	}
	got, err := g.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	// By hand: rotations of "cdef" by 0,1,2 cut to 3 tokens; rotations of 7 8 9 (3 tokens: stop).
	want := []struct {
		text, finish string
		prompt       int
	}{
		{"cde", "length", 0}, {"def", "length", 0}, {"efc", "length", 0},
		{"7 8 9", "stop", 1}, {"8 9 7", "stop", 1}, {"9 7 8", "stop", 1},
	}
	if len(got) != len(want) {
		t.Fatalf("%d completions, want %d", len(got), len(want))
	}
	for i, w := range want {
		c := got[i]
		if c.Text != w.text || c.FinishReason != w.finish || c.Prompt != w.prompt || len(c.LogProbs) != len(c.IDs) {
			t.Errorf("completion %d = %+v, want %+v", i, c, w)
		}
	}
	if string(rune(got[0].PromptIDs[0])) != "c" || len(got[0].PromptIDs) != 4 {
		t.Errorf("prompt ids after left truncation = %v", got[0].PromptIDs)
	}
	if err := g.SyncWeights(context.Background(), fakeWeights{step: 3}); err != nil {
		t.Errorf("sync weights: %v", err)
	}
	g.Close()
	assertNoChildren(t)
}
