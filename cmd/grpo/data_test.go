package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/data/arith"
)

func TestDataArithWritesDisjointSplits(t *testing.T) {
	dir := t.TempDir()
	train, test := filepath.Join(dir, "train.jsonl"), filepath.Join(dir, "test.jsonl")
	for _, args := range [][]string{
		{"grpo", "data", "arith", "--n", "400", "--seed", "4", "--max-digits", "2", "--out", train},
		{"grpo", "data", "arith", "--n", "60", "--seed", "4", "--max-digits", "2", "--split", "test", "--out", test},
	} {
		if err := newApp().Run(context.Background(), args); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	tr, err := data.ReadFile(train)
	if err != nil {
		t.Fatal(err)
	}
	te, err := data.ReadFile(test)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 400 || te.Len() != 60 {
		t.Fatalf("rows: train %d, test %d", tr.Len(), te.Len())
	}
	seen := map[string]bool{}
	for i := range tr.Rows {
		e, _ := tr.Text(i, "expression")
		seen[e] = true
	}
	for i := range te.Rows {
		e, _ := te.Text(i, "expression")
		if seen[e] || arith.SplitOf(e) != arith.Test {
			t.Fatalf("test row %q leaks into train", e)
		}
		sol, _ := te.Text(i, "solution")
		ans, _ := te.Text(i, "answer")
		if !strings.HasSuffix(sol, `\boxed{`+ans+`}.`) {
			t.Fatalf("solution %q does not box answer %q", sol, ans)
		}
	}
	if err := newApp().Run(context.Background(), []string{"grpo", "data", "arith", "--split", "dev"}); err == nil {
		t.Error("unknown split accepted")
	}
	for _, bad := range []struct{ flag, value, want string }{
		{"--lazy-op", "*", `--lazy-op "*": use "+" or "-"`},
		{"--lazy-op", "+-", `--lazy-op "+-": use "+" or "-"`},
		{"--lazy", "1.5", "lazy 1.5, want a probability in [0, 1]"},
	} {
		err := newApp().Run(context.Background(), []string{"grpo", "data", "arith", "--n", "5", bad.flag, bad.value})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s %s: error %v, want one containing %q", bad.flag, bad.value, err, bad.want)
		}
	}
}

func TestDataShow(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d.jsonl")
	ps, _ := arith.Generate(arith.Config{N: 4, Seed: 1, Split: arith.Train, MinDigits: 1, MaxDigits: 2, MinSteps: 1, MaxSteps: 1, Ops: "+", Style: arith.StyleSymbolic})
	var buf bytes.Buffer
	data.WriteJSONL(&buf, arith.Dataset("x", ps))
	writeTestFile(t, p, buf.String())
	src, err := data.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := src.Load("train[1:3]")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := showDataset(&out, src, ds, 5); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"(file)", "2 rows", "columns: prompt, answer, solution, expression", "d.jsonl:2: {\"prompt\":\"" + ps[1].Question} {
		if !strings.Contains(s, want) {
			t.Errorf("show output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "d.jsonl:4:") {
		t.Errorf("show printed a row outside the slice:\n%s", s)
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
