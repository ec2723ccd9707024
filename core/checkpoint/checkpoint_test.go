package checkpoint

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
)

func smallState(step int64) State {
	return State{
		Trainer: TrainerState{GlobalStep: step, Epoch: float64(step) / 10, MaxSteps: 100, LoggingSteps: 1,
			LogHistory: []map[string]any{{"step": step, "loss": 0.5, "reward": nanValue()}}},
		SaveModel: func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type":"qwen2"}`), 0o644)
		},
		Optimizer: OptimizerState{Meta: json.RawMessage(`{"step":3}`), Tensors: map[string]*tensors.Tensor{
			"exp_avg/w": tensors.FromFlatDataAndDimensions([]float32{1, 2, 3, 4}, 2, 2),
			"count":     tensors.FromFlatDataAndDimensions([]int64{7}, 1),
		}},
		RNG:    json.RawMessage(`{"sampler":"AAECAw=="}`),
		Data:   json.RawMessage(`{"epoch":0,"index":12}`),
		Config: []byte("learning_rate = 1e-6\n"),
	}
}

func nanValue() float64 { var z float64; return z / z }

func TestSaveAndLoad(t *testing.T) {
	out := t.TempDir()
	m := &Manager{OutputDir: out}
	dir, err := m.Save(smallState(3))
	if err != nil {
		t.Fatal(err)
	}
	if dir != filepath.Join(out, "checkpoint-3") {
		t.Fatalf("saved to %s", dir)
	}
	for _, f := range []string{"config.json", MarkerFile, TrainerStateFile, "optimizer.json", "optimizer.bin", RNGFile, DataFile, ConfigFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Trainer.GlobalStep != 3 || c.Trainer.Epoch != 0.3 || c.Trainer.MaxSteps != 100 {
		t.Errorf("trainer state %+v", c.Trainer)
	}
	if h := c.Trainer.LogHistory; len(h) != 1 || h[0]["loss"] != 0.5 || h[0]["reward"] != nil {
		t.Errorf("log history %v: want loss 0.5 and the NaN reward as null", h)
	}
	if string(c.RNG) != `{"sampler":"AAECAw=="}` || string(c.Data) != `{"epoch":0,"index":12}` || string(c.Config) != "learning_rate = 1e-6\n" {
		t.Errorf("opaque parts changed: %s %s %q", c.RNG, c.Data, c.Config)
	}
	var meta struct{ Step int }
	if err := json.Unmarshal(c.Optimizer.Meta, &meta); err != nil || meta.Step != 3 {
		t.Errorf("optimizer meta %s: %v", c.Optimizer.Meta, err)
	}
	if got := tensors.MustCopyFlatData[float32](c.Optimizer.Tensors["exp_avg/w"]); len(got) != 4 || got[3] != 4 {
		t.Errorf("exp_avg/w = %v", got)
	}
	if got := c.Optimizer.Tensors["count"]; got.Shape().DType.String() != "Int64" || tensors.MustCopyFlatData[int64](got)[0] != 7 {
		t.Errorf("count = %v", got)
	}
	// The file HF tools read is there and is plain JSON.
	var hf map[string]any
	data, _ := os.ReadFile(filepath.Join(dir, TrainerStateFile))
	if err := json.Unmarshal(data, &hf); err != nil || hf["global_step"] != 3.0 {
		t.Errorf("trainer_state.json: %v %v", hf, err)
	}
}

func TestCorruptionDetected(t *testing.T) {
	out := t.TempDir()
	dir, err := (&Manager{OutputDir: out}).Save(smallState(1))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "optimizer.bin")
	data, _ := os.ReadFile(bin)
	data[0] ^= 0xff // same size, different bytes: only the CRC can tell
	if err := os.WriteFile(bin, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "CRC-32C") {
		t.Fatalf("flipped byte: got %v", err)
	}
	if err := os.WriteFile(bin, data[:3], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Verify(dir); err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Fatalf("truncated file: Verify gave %v", err)
	}
	if _, err := Latest(out); err == nil {
		t.Fatal("Latest returned a checkpoint with a truncated file")
	}
}

func TestSaveErrorsLeaveNothing(t *testing.T) {
	out := t.TempDir()
	st := smallState(2)
	st.SaveModel = func(dir string) error {
		_ = os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte("half"), 0o644)
		return os.ErrDeadlineExceeded
	}
	if _, err := (&Manager{OutputDir: out}).Save(st); err == nil || !strings.Contains(err.Error(), "saving the model") {
		t.Fatalf("got %v", err)
	}
	st = smallState(2)
	st.SaveModel = func(dir string) error { return os.WriteFile(filepath.Join(dir, TrainerStateFile), nil, 0o644) }
	if _, err := (&Manager{OutputDir: out}).Save(st); err == nil || !strings.Contains(err.Error(), "reserves") {
		t.Fatalf("SaveModel writing a reserved name: got %v", err)
	}
	st = smallState(2)
	st.Data = json.RawMessage("{not json")
	if _, err := (&Manager{OutputDir: out}).Save(st); err == nil || !strings.Contains(err.Error(), "data_state.json") {
		t.Fatalf("invalid data JSON: got %v", err)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 0 {
		t.Fatalf("failed saves left %v", entries)
	}
}

func TestReplaceSameStep(t *testing.T) {
	out := t.TempDir()
	m := &Manager{OutputDir: out}
	if _, err := m.Save(smallState(4)); err != nil {
		t.Fatal(err)
	}
	st := smallState(4)
	st.Data = json.RawMessage(`{"index":99}`)
	dir, err := m.Save(st)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir)
	if err != nil || string(c.Data) != `{"index":99}` {
		t.Fatalf("replaced checkpoint: %v %s", err, c.Data)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Fatalf("output_dir holds %d entries after replacing, want 1", len(entries))
	}
}

func names(t *testing.T, out string) []string {
	t.Helper()
	all, err := List(out)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, c := range all {
		n = append(n, filepath.Base(c.Dir))
	}
	return n
}

func TestRotation(t *testing.T) {
	out := t.TempDir()
	m := &Manager{OutputDir: out, SaveTotalLimit: 2}
	for s := int64(1); s <= 3; s++ {
		if _, err := m.Save(smallState(s)); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(names(t, out), ","); got != "checkpoint-2,checkpoint-3" {
		t.Fatalf("after 3 saves with limit 2: %s", got)
	}
	// A resumed run never deletes the checkpoint it resumed from.
	m.ResumedFrom = filepath.Join(out, "checkpoint-2")
	for s := int64(8); s <= 10; s++ {
		if _, err := m.Save(smallState(s)); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(names(t, out), ","); got != "checkpoint-2,checkpoint-10" {
		t.Fatalf("resumed from 2, saved 8..10, limit 2: %s (numeric order, 10 after 9)", got)
	}
	// Nor the best model checkpoint.
	m.ResumedFrom = ""
	st := smallState(11)
	best := filepath.Join(out, "checkpoint-2")
	st.Trainer.BestModelCheckpoint = &best
	if _, err := m.Save(st); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names(t, out), ","); got != "checkpoint-2,checkpoint-11" {
		t.Fatalf("best is 2, saved 11: %s", got)
	}
}

func TestResolve(t *testing.T) {
	out := t.TempDir()
	for _, v := range []string{"", "false", "False"} {
		if d, err := Resolve(out, v); d != "" || err != nil {
			t.Errorf("Resolve(%q) = %q, %v; want no resume", v, d, err)
		}
	}
	if _, err := Resolve(out, "true"); err == nil || !strings.Contains(err.Error(), "start fresh") {
		t.Errorf("true with no checkpoint: %v", err)
	}
	m := &Manager{OutputDir: out}
	for _, s := range []int64{9, 10, 2} {
		if _, err := m.Save(smallState(s)); err != nil {
			t.Fatal(err)
		}
	}
	// An incomplete directory with a higher step is not "latest".
	if err := os.Mkdir(filepath.Join(out, "checkpoint-99"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"true", "latest", "TRUE"} {
		if d, err := Resolve(out, v); err != nil || d != filepath.Join(out, "checkpoint-10") {
			t.Errorf("Resolve(%q) = %q, %v; want checkpoint-10", v, d, err)
		}
	}
	if d, err := Resolve(out, filepath.Join(out, "checkpoint-9")); err != nil || d != filepath.Join(out, "checkpoint-9") {
		t.Errorf("explicit path: %q %v", d, err)
	}
	if _, err := Resolve(out, filepath.Join(out, "checkpoint-99")); err == nil || !strings.Contains(err.Error(), MarkerFile) {
		t.Errorf("incomplete path: %v", err)
	}
	if _, err := Resolve(out, out); err == nil || !strings.Contains(err.Error(), "output directory") {
		t.Errorf("output dir given as checkpoint: %v", err)
	}
	if _, err := Resolve(out, filepath.Join(out, "nope")); err == nil {
		t.Error("missing path accepted")
	}
}

// TestCrashMidSave kills (SIGKILL) a process in the middle of writing a checkpoint and checks
// that the interrupted checkpoint is never taken for a complete one.
func TestCrashMidSave(t *testing.T) {
	if os.Getenv("GRPO_CHECKPOINT_CRASH_DIR") != "" {
		t.Skip("helper process only")
	}
	out := t.TempDir()
	if _, err := (&Manager{OutputDir: out}).Save(smallState(1)); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GRPO_CHECKPOINT_CRASH_DIR="+out)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	ready := make(chan bool, 1)
	go func() {
		for sc.Scan() {
			if strings.Contains(sc.Text(), "MID-SAVE") {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("helper ended without reaching the middle of its save")
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("helper did not reach the middle of its save")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	entries, _ := os.ReadDir(out)
	var tmp int
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			tmp++
		}
	}
	if tmp != 1 {
		t.Fatalf("expected the killed save's temporary directory, found entries %v", entries)
	}
	if d, err := Resolve(out, "true"); err != nil || filepath.Base(d) != "checkpoint-1" {
		t.Fatalf("after a crash mid-save of step 2, latest = %q, %v; want checkpoint-1", d, err)
	}
	// The next save cleans up and succeeds.
	if _, err := (&Manager{OutputDir: out}).Save(smallState(2)); err != nil {
		t.Fatal(err)
	}
	entries, _ = os.ReadDir(out)
	if len(entries) != 2 {
		t.Fatalf("after the next save: %v, want checkpoint-1 and checkpoint-2 only", entries)
	}
}

// TestCrashHelper runs in the child process of TestCrashMidSave.
func TestCrashHelper(t *testing.T) {
	out := os.Getenv("GRPO_CHECKPOINT_CRASH_DIR")
	if out == "" {
		t.Skip("run by TestCrashMidSave")
	}
	st := smallState(2)
	st.SaveModel = func(dir string) error {
		if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), make([]byte, 1<<16), 0o644); err != nil {
			return err
		}
		os.Stdout.WriteString("MID-SAVE\n")
		time.Sleep(time.Minute) // killed here
		return nil
	}
	_, _ = (&Manager{OutputDir: out}).Save(st)
	t.Fatal("the helper should have been killed")
}
