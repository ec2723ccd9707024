package train

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/grpo-dev/grpo/core/checkpoint"
	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/metrics"
	"github.com/grpo-dev/grpo/core/model"
)

// newSFTTrainer builds a trainer for cfg on a freshly loaded fixture model.
func newSFTTrainer(t *testing.T, cfg *config.Config, ex []data.SFTExample, opts Options) (*Trainer, *model.Model) {
	t.Helper()
	m := loadTiny(t)
	task, err := NewSFT(cfg, m, byteEncoder{}, 2, 0, ex)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	tr, err := New(cfg, m, task, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tr, m
}

// runSFT trains cfg on the fixture and returns the metrics.jsonl rows.
func runSFT(t *testing.T, cfg *config.Config, ex []data.SFTExample) []map[string]float64 {
	t.Helper()
	tr, _ := newSFTTrainer(t, cfg, ex, Options{})
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return readMetrics(t, cfg.OutputDir)
}

func readMetrics(t *testing.T, dir string) []map[string]float64 {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, metrics.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []map[string]float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r map[string]float64
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("metrics.jsonl line %q: %v", sc.Text(), err)
		}
		rows = append(rows, r)
	}
	return rows
}

// withoutTiming drops the wall-clock metrics, which differ between runs by nature.
func withoutTiming(rows []map[string]float64) []map[string]float64 {
	for _, r := range rows {
		for k := range r {
			if strings.HasPrefix(k, "timing/") {
				delete(r, k)
			}
		}
	}
	return rows
}

func weightBytes(t *testing.T, m *model.Model) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, v := range m.Variables() {
		if err := v.MustValue().ConstBytes(func(p []byte) { b.Write(p) }); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// stopAfter wraps a task and closes stop once step `after` (1-based) has run, as a Ctrl-C
// during that step would.
type stopAfter struct {
	Task
	after int64
	stop  chan struct{}
}

func (s *stopAfter) Step(ctx context.Context, gs int64, mb *MicroBatches) (StepResult, error) {
	r, err := s.Task.Step(ctx, gs, mb)
	if gs+1 == s.after {
		close(s.stop)
	}
	return r, err
}

// TestResumeMatchesStraightRun: 5 steps straight vs a run stopped after step 3 (the stop saves
// checkpoint-3) and resumed with resume_from_checkpoint = latest: same final weights bit for
// bit, same metrics.jsonl rows (timing aside), and the resumed run's checkpoints hold the full
// log history.
func TestResumeMatchesStraightRun(t *testing.T) {
	ex := examples(10)
	straight := sftConfig(t, t.TempDir())
	straight.MaxSteps = 5
	trA, mA := newSFTTrainer(t, straight, ex, Options{})
	if err := trA.Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	out := t.TempDir()
	first := sftConfig(t, out)
	first.MaxSteps = 5
	m := loadTiny(t)
	task, err := NewSFT(first, m, byteEncoder{}, 2, 0, ex)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	tr, err := New(first, m, &stopAfter{Task: task, after: 3, stop: stop}, Options{Stop: stop, Progress: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); !errors.Is(err, ErrStopped) {
		t.Fatalf("stopped run returned %v, want ErrStopped", err)
	}
	if _, err := os.Stat(filepath.Join(out, "checkpoint-3")); err != nil {
		t.Fatalf("no checkpoint where the run stopped: %v", err)
	}

	second := sftConfig(t, out)
	second.MaxSteps = 5
	latest := "latest"
	second.ResumeFromCheckpoint = &latest
	trB, mB := newSFTTrainer(t, second, ex, Options{})
	if err := trB.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(weightBytes(t, mA), weightBytes(t, mB)) {
		t.Fatal("final weights differ between the straight and the resumed run")
	}
	a, b := withoutTiming(readMetrics(t, straight.OutputDir)), withoutTiming(readMetrics(t, out))
	if len(a) != 5 || len(b) != 5 {
		t.Fatalf("metrics rows: straight %d, resumed %d, want 5", len(a), len(b))
	}
	for i := range a {
		ja, _ := json.Marshal(a[i])
		jb, _ := json.Marshal(b[i])
		if !bytes.Equal(ja, jb) {
			t.Fatalf("metrics row %d differs:\nstraight %s\nresumed  %s", i+1, ja, jb)
		}
	}
	ck, err := checkpoint.Load(filepath.Join(out, "checkpoint-5"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.Trainer.LogHistory) != 5 || ck.Trainer.GlobalStep != 5 {
		t.Fatalf("checkpoint-5: step %d, %d history entries", ck.Trainer.GlobalStep, len(ck.Trainer.LogHistory))
	}
	// The final model in output_dir loads and equals the trained weights.
	final, err := model.LoadDir(out, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(weightBytes(t, final), weightBytes(t, mB)) {
		t.Fatal("the final model in output_dir is not the trained one")
	}
	// A resume with another batch geometry is refused, naming the cause.
	other := sftConfig(t, out)
	other.MaxSteps = 6
	other.PerDeviceTrainBatchSize = 1
	other.ResumeFromCheckpoint = &latest
	trC, _ := newSFTTrainer(t, other, ex, Options{})
	if err := trC.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "data geometry") {
		t.Fatalf("resume with another batch size: %v", err)
	}
}

// TestSaveStrategies: save_steps with save_total_limit keeps the newest checkpoints; "epoch"
// saves at epoch ends; "no" saves none; the final model is written either way.
func TestSaveStrategies(t *testing.T) {
	ex := examples(8) // 2 steps per epoch at 2×2 sequences per step
	limit := 2
	cfg := sftConfig(t, t.TempDir())
	cfg.MaxSteps, cfg.SaveSteps, cfg.SaveTotalLimit = 7, 2, &limit
	runSFT(t, cfg, ex)
	if got := checkpointSteps(t, cfg.OutputDir); !slices.Equal(got, []int64{6, 7}) {
		t.Fatalf("save_steps 2, limit 2, 7 steps: checkpoints %v, want [6 7]", got)
	}

	cfg = sftConfig(t, t.TempDir())
	cfg.MaxSteps, cfg.SaveStrategy = -1, "epoch"
	cfg.NumTrainEpochs = 2.5
	rows := runSFT(t, cfg, ex)
	if got := checkpointSteps(t, cfg.OutputDir); !slices.Equal(got, []int64{2, 4, 5}) {
		t.Fatalf("epoch strategy over 2.5 epochs: checkpoints %v, want [2 4 5]", got)
	}
	if last := rows[len(rows)-1]; last["epoch"] != 2.5 || len(rows) != 5 {
		t.Fatalf("2.5 epochs of 2 steps: %d rows, last epoch %v", len(rows), last["epoch"])
	}

	cfg = sftConfig(t, t.TempDir())
	cfg.SaveStrategy = "no"
	runSFT(t, cfg, ex)
	if got := checkpointSteps(t, cfg.OutputDir); len(got) != 0 {
		t.Fatalf("save_strategy no: checkpoints %v", got)
	}
	if _, err := os.Stat(filepath.Join(cfg.OutputDir, "model.safetensors")); err != nil {
		t.Fatalf("final model missing: %v", err)
	}
}

func checkpointSteps(t *testing.T, dir string) []int64 {
	t.Helper()
	all, err := checkpoint.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var steps []int64
	for _, c := range all {
		steps = append(steps, c.Step)
	}
	return steps
}

// TestLossDecreases: a few steps on a repeated example must lower its loss (the update has the
// right sign and reaches the weights).
func TestLossDecreases(t *testing.T) {
	cfg := sftConfig(t, t.TempDir())
	cfg.MaxSteps, cfg.SaveStrategy, cfg.SaveFinalModel = 8, "no", false
	rows := runSFT(t, cfg, examples(4))
	if first, last := rows[0]["loss"], rows[len(rows)-1]["loss"]; !(last < 0.7*first) {
		t.Fatalf("loss went from %.4f to %.4f over 8 steps on 4 examples", first, last)
	}
}
