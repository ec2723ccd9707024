package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/grpo-dev/grpo/core/checkpoint"
	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/data/arith"
	"github.com/grpo-dev/grpo/core/metrics"
	"github.com/grpo-dev/grpo/plugins/wasm/wasmtest"
)

// demoTrendSteps is the length of TestRunEmbeddedDemoLearns's run.
const demoTrendSteps = "20"

// childEnv makes the test binary run grpo's main (a real `grpo` process for the kill -9 test).
const childEnv = "GRPO_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	useSequentialGoBackend()
	code := m.Run()
	if tiny.dir != "" {
		_ = os.RemoveAll(tiny.dir)
	}
	if faults.set != nil {
		faults.set.Cleanup()
	}
	os.Exit(code)
}

// tiny is a small random model (hidden 32, 2 layers) with a BPE tokenizer learned from
// arithmetic problems, and those problems: made once per test binary with grpo's own commands
// (data arith, tokenizer train, model init), so `grpo run` tests take seconds.
var tiny struct {
	once sync.Once
	dir  string
	err  error
}

func tinySetup(t *testing.T) string {
	t.Helper()
	tiny.once.Do(func() {
		tiny.dir, tiny.err = os.MkdirTemp("", "grpo-run-test-")
		if tiny.err != nil {
			return
		}
		tiny.err = makeTiny(tiny.dir)
	})
	if tiny.err != nil {
		t.Fatal(tiny.err)
	}
	return tiny.dir
}

func makeTiny(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return err
	}
	for _, split := range []struct {
		name string
		n    int
	}{{arith.Train, 300}, {arith.Test, 40}} {
		c := arith.DefaultConfig()
		c.N, c.Seed, c.Split = split.n, 3, split.name
		ps, err := arith.Generate(c)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := data.WriteJSONL(&b, arith.Dataset(split.name, ps)); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "data", split.name+".jsonl"), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	cfg := `{"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 32,
"intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
"hidden_act": "silu", "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
"tie_word_embeddings": true, "initializer_range": 0.02, "torch_dtype": "float32"}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"tokenizer", "train", "--data", filepath.Join(dir, "data", "train.jsonl"), "--columns", "prompt,solution",
			"--chat-template", "chatml", "--vocab-size", "300", "--out", filepath.Join(dir, "tok")},
		{"model", "init", "--config", filepath.Join(dir, "config.json"), "--tokenizer", filepath.Join(dir, "tok"),
			"--seed", "1", "--out", filepath.Join(dir, "model")},
	} {
		if _, stderr, err := execCLI(args...); err != nil {
			return fmt.Errorf("grpo %s: %v\n%s", strings.Join(args[:2], " "), err, stderr)
		}
	}
	run := fmt.Sprintf(`model_name_or_path = %q
dataset_id_or_path = %q
dataset_format = "question"
question_column = "prompt"
apply_chat_template = true
num_generations = 4
per_device_train_batch_size = 8
max_completion_length = 16
temperature = 1.0
beta = 0.0
learning_rate = 1e-2
lr_scheduler_type = "constant"
logging_steps = 1
save_steps = 5
report_to = ["none"]
seed = 5
`, filepath.Join(dir, "model"), filepath.Join(dir, "data"))
	return os.WriteFile(filepath.Join(dir, "run.toml"), []byte(run), 0o644)
}

// execCLI runs grpo in this process and returns stdout, stderr and the error.
func execCLI(args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.Run(context.Background(), append([]string{"grpo"}, args...))
	return out.String(), errOut.String(), err
}

// metricsRows reads output_dir/metrics.jsonl without the wall-clock ("timing/") fields.
func metricsRows(t *testing.T, dir string) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, metrics.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		for k := range r {
			if strings.HasPrefix(k, "timing/") {
				delete(r, k)
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// TestRunResumeAfterKill9: 10 steps straight, and a real grpo process killed with SIGKILL after
// its step-5 checkpoint then resumed for the last 5 steps, give identical metrics.jsonl rows (the
// wall-clock "timing/" fields aside) and bit-identical final weights.
func TestRunResumeAfterKill9(t *testing.T) {
	dir := tinySetup(t)
	run := filepath.Join(dir, "run.toml")
	straight, killed := t.TempDir(), t.TempDir()
	if _, stderr, err := execCLI("run", run, "--plugin", "builtin:length", "max_steps=10", "output_dir="+straight); err != nil {
		t.Fatalf("straight run: %v\n%s", err, stderr)
	}

	// The child would run 1000 steps: it is killed right after checkpoint-5 is complete, in the
	// middle of step 6 or 7, with no chance to clean up.
	child := exec.Command(os.Args[0], "run", run, "--plugin", "builtin:length", "max_steps=1000", "output_dir="+killed)
	child.Env = append(os.Environ(), childEnv+"=1")
	var childErr bytes.Buffer
	child.Stdout, child.Stderr = &childErr, &childErr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(killed, "checkpoint-5", checkpoint.MarkerFile)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = child.Process.Kill()
			t.Fatalf("no checkpoint-5 after 2 minutes:\n%s", childErr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if rows := metricsRows(t, killed); len(rows) < 5 {
		t.Fatalf("the killed run logged %d steps, want at least 5", len(rows))
	}

	if _, stderr, err := execCLI("run", run, "--plugin", "builtin:length", "max_steps=10", "output_dir="+killed,
		"resume_from_checkpoint=latest"); err != nil {
		t.Fatalf("resumed run: %v\n%s", err, stderr)
	}
	a, b := metricsRows(t, straight), metricsRows(t, killed)
	if len(a) != 10 {
		t.Fatalf("straight run logged %d rows, want 10", len(a))
	}
	if !reflect.DeepEqual(a, b) {
		for i := range min(len(a), len(b)) {
			if !reflect.DeepEqual(a[i], b[i]) {
				t.Errorf("row %d differs:\nstraight %v\nresumed  %v", i+1, a[i], b[i])
			}
		}
		t.Fatalf("metrics.jsonl differs (%d vs %d rows)", len(a), len(b))
	}
	wa, err := os.ReadFile(filepath.Join(straight, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	wb, err := os.ReadFile(filepath.Join(killed, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wa, wb) {
		t.Error("final weights differ between the straight and the killed-and-resumed run")
	}
	init, _ := os.ReadFile(filepath.Join(dir, "model", "model.safetensors"))
	if bytes.Equal(wa, init) {
		t.Error("training did not change the weights: the comparison checks nothing")
	}
}

// faults holds the fault-injecting reward plugin (testdata/faultreward), built on first use.
var faults struct {
	once sync.Once
	set  *wasmtest.Set
	err  error
}

func faultPlugin(t *testing.T) string {
	t.Helper()
	faults.once.Do(func() {
		faults.set, faults.err = wasmtest.NewSet()
		if faults.err == nil {
			faults.set.Go("faultreward", "", "./testdata/faultreward")
		}
	})
	if faults.err != nil {
		t.Fatal(faults.err)
	}
	return faults.set.Path(t, "faultreward")
}

// TestRunRewardFaults: a reward plugin that traps, or loops past plugin_timeout, at its second
// call (step 2) does not lose the run: "error" stops with a checkpoint of step 1 and a named
// error, and resuming from it finishes; "zero" and "skip_batch" train on and count the failure.
func TestRunRewardFaults(t *testing.T) {
	dir := tinySetup(t)
	plugin := faultPlugin(t)
	for _, fault := range []string{"trap", "loop"} {
		for _, mode := range []string{"error", "zero", "skip_batch"} {
			t.Run(fault+"/"+mode, func(t *testing.T) {
				out := t.TempDir()
				runFile := filepath.Join(out, "run.toml")
				base, err := os.ReadFile(filepath.Join(dir, "run.toml"))
				if err != nil {
					t.Fatal(err)
				}
				extra := fmt.Sprintf("reward_failure = %q\nplugin_timeout = 1.0\n\n[[rewards]]\nplugin = %q\nsettings = { fault = %q, fail_call = 2 }\n", mode, plugin, fault)
				if err := os.WriteFile(runFile, append(base, extra...), 0o644); err != nil {
					t.Fatal(err)
				}
				args := []string{"run", runFile, "--workers", "1", "max_steps=3", "save_steps=100", "output_dir=" + out}
				_, stderr, err := execCLI(args...)
				if mode == "error" {
					if err == nil {
						t.Fatalf("the run survived a failing reward with reward_failure = \"error\"")
					}
					ck := filepath.Join(out, "checkpoint-1")
					for _, want := range []string{`reward "faultreward" failed at step 2`, ck, "resume_from_checkpoint=latest"} {
						if !strings.Contains(err.Error(), want) {
							t.Errorf("error %q lacks %q", err, want)
						}
					}
					if err := checkpoint.Verify(ck); err != nil {
						t.Fatalf("no valid checkpoint after the failure: %v", err)
					}
					// Resume with a healthy reward in the plugin's place: the run finishes.
					healthy := append(base, fmt.Sprintf("reward_failure = %q\n", mode)...)
					if err := os.WriteFile(runFile, healthy, 0o644); err != nil {
						t.Fatal(err)
					}
					if _, stderr, err := execCLI(append(args, "--plugin", "builtin:length", "resume_from_checkpoint=latest")...); err != nil {
						t.Fatalf("resume after the failure: %v\n%s", err, stderr)
					}
					if rows := metricsRows(t, out); len(rows) != 3 {
						t.Errorf("%d metrics rows after resuming, want 3", len(rows))
					}
					return
				}
				if err != nil {
					t.Fatalf("reward_failure = %q: %v\n%s", mode, err, stderr)
				}
				rows := metricsRows(t, out)
				if len(rows) != 3 {
					t.Fatalf("%d metrics rows, want 3", len(rows))
				}
				if rows[0]["reward_failures"] != 0.0 || rows[1]["reward_failures"] != 1.0 {
					t.Errorf("reward_failures by step: %v, %v; want 0 then 1", rows[0]["reward_failures"], rows[1]["reward_failures"])
				}
				switch mode {
				case "zero":
					if rows[1]["reward"] != 0.0 {
						t.Errorf("step 2 reward %v, want 0 (the failed round is scored 0)", rows[1]["reward"])
					}
				case "skip_batch":
					if rows[1]["skipped_batches"] != 1.0 || !(rows[1]["reward"].(float64) > 0) {
						t.Errorf("step 2: skipped_batches %v, reward %v; want 1 and the replacement round's reward", rows[1]["skipped_batches"], rows[1]["reward"])
					}
				}
				if !strings.Contains(stderr, "faultreward") {
					t.Errorf("the failure was not logged:\n%s", stderr)
				}
			})
		}
	}
}

// rewardSlope is the least-squares slope of the logged mean reward over the steps.
func rewardSlope(rows []map[string]any) float64 {
	var sx, sy, sxx, sxy, n float64
	for i, r := range rows {
		y, ok := r["reward"].(float64)
		if !ok || math.IsNaN(y) {
			continue
		}
		x := float64(i + 1)
		sx, sy, sxx, sxy, n = sx+x, sy+y, sxx+x*x, sxy+x*y, n+1
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

// TestRunBackends: an executable is a generation backend plugin process (the echo example, which
// needs no model) that receives the policy's weights before each generation after an update (at
// step 1 it serves model_name_or_path, as RLT's vLLM does); "vllm" is refused with a clear error
// in this build.
func TestRunBackends(t *testing.T) {
	dir := tinySetup(t)
	run := filepath.Join(dir, "run.toml")
	_, _, err := execCLI("run", run, "--plugin", "builtin:length", "--backend", "vllm", "use_vllm_server=true", "max_steps=1", "output_dir="+t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "vLLM backend is not in this build") {
		t.Errorf("--backend vllm: %v, want the not-in-this-build error", err)
	}

	exe := filepath.Join(t.TempDir(), "echo-backend")
	if out, err := exec.Command("go", "build", "-o", exe, "../../sdk/go/examples/echo-backend").CombinedOutput(); err != nil {
		t.Fatalf("building the echo backend: %v\n%s", err, out)
	}
	out := t.TempDir()
	_, stderr, err := execCLI("run", run, "--plugin", "builtin:length", "--backend", exe, "max_steps=3",
		"activate_debugging_logs=true", "output_dir="+out)
	if err != nil {
		t.Fatalf("--backend echo-backend: %v\n%s", err, stderr)
	}
	if rows := metricsRows(t, out); len(rows) != 3 {
		t.Fatalf("%d metrics rows, want 3", len(rows))
	}
	// The echo backend logs every weight sync it receives (a Hugging Face directory per update).
	for _, want := range []string{`"weights synced" plugin=echo-backend model_type=qwen2 step=1`, `"weights synced" plugin=echo-backend model_type=qwen2 step=2`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the backend did not log %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stderr, "grpo step") {
		t.Errorf("activate_debugging_logs printed no step tracing:\n%s", stderr)
	}
}

// TestRunCompletionLogs: log_completions prints completions with their rewards and
// save_completions_probability = 1 stores every completion of each logged step, as RLT's
// stored_completions/<step>.csv.
func TestRunCompletionLogs(t *testing.T) {
	dir := tinySetup(t)
	out := t.TempDir()
	_, stderr, err := execCLI("run", filepath.Join(dir, "run.toml"), "--plugin", "builtin:length", "max_steps=2",
		"log_completions=true", "save_completions_probability=1.0", "output_dir="+out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "── completions at step 2") || !strings.Contains(stderr, "length ") {
		t.Errorf("no completions table with rewards on stderr:\n%s", stderr)
	}
	for _, step := range []string{"1", "2"} {
		b, err := os.ReadFile(filepath.Join(out, metrics.CompletionsDir, step+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Count(string(b), "\r\n")
		if lines != 1+8 { // header + the step's 8 completions
			t.Errorf("step %s: %d CSV lines, want 9", step, lines)
		}
		if !strings.HasPrefix(string(b), `"step","prompt","completion","reward","rewards/length"`) {
			t.Errorf("step %s: CSV header %q", step, strings.SplitN(string(b), "\r\n", 2)[0])
		}
	}
}

// TestRunEmbeddedDemoLearns runs the README's first command, shortened: the demo compiled into
// the binary (no run file), rewards/math.wasm by default, fewer steps and no held-out evaluation.
// The mean reward must trend up over the steps (least-squares slope > 0, and the last third
// above the first third); the run is seeded, so this is deterministic on the Go backend.
func TestRunEmbeddedDemoLearns(t *testing.T) {
	if _, err := os.Stat("../../configs/demo/model/model.safetensors"); err != nil {
		t.Fatalf("the demo model is missing (configs/demo/model, made by scripts/make-demo.sh): %v", err)
	}
	out := t.TempDir()
	stdout, stderr, err := execCLI("run", "max_steps="+demoTrendSteps, "val_split=null", "output_dir="+out)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	rows := metricsRows(t, out)
	if len(rows) < 6 {
		t.Fatalf("%d metrics rows", len(rows))
	}
	third := len(rows) / 3
	var first, last float64
	for i := range third {
		first += rows[i]["reward"].(float64) / float64(third)
		last += rows[len(rows)-1-i]["reward"].(float64) / float64(third)
	}
	slope := rewardSlope(rows)
	t.Logf("reward: first third %.3f, last third %.3f, slope %.4f per step", first, last, slope)
	if !(slope > 0 && last > first) {
		t.Errorf("no upward reward trend: first third %.3f, last third %.3f, slope %.4f per step", first, last, slope)
	}
}
