package plugins

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/grpo-dev/grpo/core/reward"
)

// The lastnumber example reward exists as a Go WASM plugin, a Go process plugin and a Python
// process plugin (sdk/go/examples/lastnumber*, sdk/python/examples/lastnumber). Opened through
// the same dispatch the trainer uses, all three must score the same JSONL identically (issue 8's
// acceptance); plugins/proc's tests check the process builds against hand-derived values.
func TestLastNumberScoresIdenticallyAsWASMGoProcessAndPython(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import grpc, cryptography").Run(); err != nil {
		if os.Getenv("GRPO_REQUIRE_TESTDATA") == "1" {
			t.Fatalf("/usr/bin/python3 cannot import grpc and cryptography (%v): run scripts/setup.d/30-python-grpc.sh", err)
		}
		t.Skipf("python3-grpcio not installed (%v)", err)
	}
	dir := t.TempDir()
	wasmPath := filepath.Join(dir, "lastnumber.wasm")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", wasmPath, "../sdk/go/examples/lastnumber-wasm")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the WASM example: %v\n%s", err, out)
	}
	goPath := filepath.Join(dir, "lastnumber")
	if out, err := exec.Command("go", "build", "-o", goPath, "../sdk/go/examples/lastnumber").CombinedOutput(); err != nil {
		t.Fatalf("building the Go example: %v\n%s", err, out)
	}
	rows := lastNumberRows(t, "proc/testdata/lastnumber.jsonl")
	paths := []string{wasmPath, goPath, "../sdk/python/examples/lastnumber/lastnumber.py"}
	var first []float64
	for _, p := range paths {
		r, err := OpenReward(context.Background(), Spec{Plugin: p}, Options{})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		got, err := r.Score(context.Background(), 7, rows)
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if first == nil {
			first = got.Values
			continue
		}
		for i := range rows {
			a, b := first[i], got.Values[i]
			if !(a == b || math.IsNaN(a) && math.IsNaN(b)) {
				t.Errorf("row %d: %s scored %v, %s scored %v", i+1, paths[0], a, p, b)
			}
		}
	}
	var ones, zeros, none int
	for _, v := range first {
		switch {
		case math.IsNaN(v):
			none++
		case v == 1:
			ones++
		case v == 0:
			zeros++
		}
	}
	if ones == 0 || zeros == 0 || none == 0 || ones+zeros+none != len(rows) {
		t.Errorf("the fixture should exercise 1, 0 and no-score rows: %v", first)
	}
}

func lastNumberRows(t *testing.T, path string) []reward.Sample {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []reward.Sample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		s := reward.Sample{Metadata: map[string]any{}}
		for k, v := range row {
			switch k {
			case "prompt":
				s.Prompt, _ = v.(string)
			case "completion":
				s.Completion, _ = v.(string)
			default:
				s.Metadata[k] = v
			}
		}
		out = append(out, s)
	}
	return out
}
