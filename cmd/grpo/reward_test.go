package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the grpo command line and returns what it printed on stdout.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() { b, _ := io.ReadAll(r); done <- string(b) }()
	runErr := newApp().Run(context.Background(), append([]string{"grpo"}, args...))
	w.Close()
	os.Stdout = old
	return <-done, runErr
}

func writeFile(t *testing.T, name, content string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRewardCommand(t *testing.T) {
	data := writeFile(t, "rows.jsonl", `{"prompt":"6*7?","completion":"<think>x</think><answer>\\boxed{42}</answer>","answer":"42"}
{"prompt":"2+2?","completion":"it is 5","answer":"4"}

{"prompt":"?","completion":"<think>a</think><answer>b</answer>"}
`)
	math := filepath.Join("..", "..", "rewards", "math.wasm")
	out, err := runCLI(t, "reward", "--plugin", math, "--plugin", "builtin:format", "--weights", "1,0.5",
		"--cache-dir", filepath.Join(t.TempDir(), "cache"), "--data", data, "plugin_timeout=10")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"reward":1.5,"rewards":{"format":1,"math":1}}
{"reward":0,"rewards":{"format":0,"math":0}}
{"reward":0.5,"rewards":{"format":1,"math":null}}
`
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}

	out, err = runCLI(t, "reward", "--plugin", "builtin:math", "--setting", "math.answer_column=gold", "--data", data)
	if err != nil || !strings.HasPrefix(out, `{"reward":null,"rewards":{"math":null}}`) {
		t.Errorf("answer_column=gold: %q, %v", out, err)
	}
}

func TestRewardCommandErrors(t *testing.T) {
	data := writeFile(t, "rows.jsonl", `{"completion":"a","answer":"1"}`+"\n")
	notWasm := writeFile(t, "broken.wasm", "not wasm at all")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--plugin", notWasm, "--data", data}, notWasm + ": open: not a grpo plugin"},
		{[]string{"--plugin", "builtin:math", "--data", writeFile(t, "bad.jsonl", "{\"completion\":\"a\"}\n{\"prompt\":\"p\"}\n")}, "bad.jsonl:2: the row has no \"completion\" string (columns: prompt)"},
		{[]string{"--plugin", "builtin:math", "--weights", "1,2", "--data", data}, "reward_weights (--weights) has 2 values for 1 plugins"},
		{[]string{"--plugin", "./no-such-plugin", "--data", data}, "no-such-plugin: start: plugin failed to start"},
		{[]string{"--plugin", "builtin:math", "--data", data, "plugin_timout=3"}, "unknown key `plugin_timout` (did you mean `plugin_timeout`?)"},
		{[]string{"--plugin", "builtin:math", "--setting", "nope.x=1", "--data", data}, `no plugin named "nope"`},
	}
	for _, c := range cases {
		_, err := runCLI(t, append([]string{"reward"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.args, err, c.want)
		}
	}
}

func TestPluginInspectAndNew(t *testing.T) {
	out, err := runCLI(t, "plugin", "inspect", "--cache-dir", filepath.Join(t.TempDir(), "cache"), filepath.Join("..", "..", "rewards", "length.wasm"))
	if err != nil || !strings.Contains(out, "abi:      grpo-wasm v1") || !strings.Contains(out, "name:     length") {
		t.Errorf("inspect: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "r")
	if _, err := runCLI(t, "plugin", "new", "--lang", "c", "--dir", dir, "my-reward"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "my-reward.c")); err != nil {
		t.Error(err)
	}
}
