package wasm

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpo-dev/grpo/core/reward"
	"github.com/grpo-dev/grpo/plugins/wasm/wasmtest"
)

// fixtures holds the test plugins, built once per test binary: Go guests (sentinel, template,
// extism) and the WAT fault modules of testdata/faults.
var fixtures *wasmtest.Set

// workerEnv makes this test binary act as the sandbox child (SandboxProcess tests).
const workerEnv = "GRPO_WASM_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		if err := ServeWorker(os.Stdin, os.Stdout, slog.New(slog.NewJSONHandler(os.Stderr, nil))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	var err error
	fixtures, err = wasmtest.NewSet()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var wg sync.WaitGroup
	for _, name := range []string{"sentinel", "template"} {
		wg.Add(1)
		go func() { defer wg.Done(); fixtures.Go(name, "", "./testdata/"+name) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); fixtures.Go("extism", "testdata/extism", ".") }()
	wg.Add(1)
	go func() { // an Extism AssemblyScript-PDK reward
		defer wg.Done()
		out := filepath.Join(fixtures.Dir, "extism-as.wasm")
		root, err := wasmtest.RepoRoot()
		if err != nil {
			fixtures.Add("extism-as", "", err)
			return
		}
		nm := filepath.Join(root, "tools", "node_modules")
		fixtures.Command("extism-as", out, "testdata/extism-as", nil, filepath.Join(nm, ".bin", "asc"), "reward.ts",
			"--path", nm, "--use", "abort=reward/myAbort", "-O3", "-o", out)
	}()
	wats, _ := filepath.Glob("testdata/faults/*.wat")
	for _, w := range wats {
		fixtures.WAT(strings.TrimSuffix(filepath.Base(w), ".wat"), w)
	}
	wg.Wait()
	code := m.Run()
	fixtures.Cleanup()
	os.Exit(code)
}

// testOpts are small-deadline options with a private compilation cache.
func testOpts(t testing.TB) Options {
	return Options{
		Timeout:  20 * time.Second, // generous: the test machine's 2 cores are shared
		Grace:    time.Second,
		CacheDir: filepath.Join(fixtures.Dir, "cache"),
		Logger:   slog.New(slog.DiscardHandler),
	}
}

func processOpts(t testing.TB) Options {
	o := testOpts(t)
	o.Sandbox = SandboxProcess
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	o.WorkerCommand = []string{exe}
	t.Setenv(workerEnv, "1") // inherited by the child
	return o
}

func samples(completions ...string) []reward.Sample {
	s := make([]reward.Sample, len(completions))
	for i, c := range completions {
		s[i] = reward.Sample{Prompt: "p", Completion: c, Metadata: map[string]any{"answer": "42"}}
	}
	return s
}

func openReward(t *testing.T, name string, opts Options) *Reward {
	t.Helper()
	r, err := OpenReward(context.Background(), fixtures.Path(t, name), opts)
	if err != nil {
		t.Fatalf("OpenReward(%s): %v", name, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}
