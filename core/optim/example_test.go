package optim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/grpo-dev/grpo/core/accel"
	"github.com/grpo-dev/grpo/core/checkpoint"
	"github.com/grpo-dev/grpo/core/metrics"
	"github.com/grpo-dev/grpo/core/optim"
)

// exampleLoss is a linear regression standing in for a trainer's model and loss.
func exampleLoss(scope *model.Scope, in []*graph.Node) (*graph.Node, []*graph.Node) {
	w := scope.Store().GetVariable("/model/proj/weight").NodeValue(in[0].Graph())
	diff := graph.Sub(graph.MatMul(in[0], w), in[1])
	return graph.ReduceAllMean(graph.Square(diff)), nil
}

// exampleBatch is the micro-batch mb of optimizer step gs: fixed by the step, as a seeded
// data loader would give after a resume.
func exampleBatch(gs int64, mb int) (x, y [][]float32) {
	rng := rand.New(rand.NewPCG(uint64(gs), uint64(mb)))
	for range 4 {
		a, b := float32(rng.NormFloat64()), float32(rng.NormFloat64())
		x, y = append(x, []float32{a, b}), append(y, []float32{2*a - b})
	}
	return x, y
}

// exampleRun trains until global step stopAt (a run killed there, or finished), resuming
// according to resume ("" or "true"), and returns the final weight's bytes. It prints what it
// does when verbose.
func exampleRun(out string, stopAt int64, resume string, loggingSteps int64, verbose bool) ([]byte, error) {
	const maxSteps, saveSteps = 6, 2
	say := func(a ...any) {
		if verbose {
			fmt.Println(a...)
		}
	}
	store := model.NewStore()
	dir, err := checkpoint.Resolve(out, resume)
	if err != nil {
		return nil, err
	}
	var ck *checkpoint.Checkpoint
	weight := tensors.FromFlatDataAndDimensions([]float32{0.1, -0.2}, 2, 1)
	if dir != "" {
		if ck, err = checkpoint.Load(dir); err != nil {
			return nil, err
		}
		// A real trainer loads its HF-layout model from dir; this one stored a tensor file.
		_, ws, err := checkpoint.ReadTensorFile(dir, "weights")
		if err != nil {
			return nil, err
		}
		weight = ws["/model/proj/weight"]
	}
	if _, err := store.CreateVariable("/model/proj/weight", weight); err != nil {
		return nil, err
	}
	opt, err := optim.New(store, optim.DefaultConfig())
	if err != nil {
		return nil, err
	}
	step, err := opt.NewStep(accel.MustShared(), exampleLoss)
	if err != nil {
		return nil, err
	}
	sched, err := optim.NewSchedule(optim.ScheduleConfig{Type: "cosine", LearningRate: 0.05, NumTrainingSteps: maxSteps, WarmupSteps: 1})
	if err != nil {
		return nil, err
	}
	var start int64
	var history []map[string]any
	if ck != nil {
		var st optim.State
		if err := json.Unmarshal(ck.Optimizer.Meta, &st); err != nil {
			return nil, err
		}
		st.Tensors = ck.Optimizer.Tensors
		if err := opt.Restore(st); err != nil {
			return nil, err
		}
		start, history = ck.Trainer.GlobalStep, ck.Trainer.LogHistory
		say("resumed from", filepath.Base(dir))
	}
	logger, err := metrics.Open(metrics.Config{OutputDir: out, MaxSteps: maxSteps, ResumeStep: start, History: history, Progress: io.Discard})
	if err != nil {
		return nil, err
	}
	defer logger.Close()
	saver := &checkpoint.Manager{OutputDir: out, SaveTotalLimit: 2, ResumedFrom: dir}

	var window metrics.Window
	for gs := start; gs < stopAt; {
		for mb := range 2 { // gradient_accumulation_steps = 2
			x, y := exampleBatch(gs, mb)
			loss, _, err := step.Accumulate(x, y)
			if err != nil {
				return nil, err
			}
			window.Add("loss", loss)
		}
		st, err := step.Apply(sched.LR(gs))
		if err != nil {
			return nil, err
		}
		gs = st.Step
		window.Add("grad_norm", st.GradNorm)
		logger.Advance(gs)
		if gs%loggingSteps == 0 {
			m := window.Mean()
			m["learning_rate"] = sched.LR(gs)
			if err := logger.Log(gs, m); err != nil {
				return nil, err
			}
		}
		if gs%saveSteps == 0 {
			ost, err := opt.State()
			if err != nil {
				return nil, err
			}
			meta, _ := json.Marshal(ost)
			saved, err := saver.Save(checkpoint.State{
				Trainer: checkpoint.TrainerState{GlobalStep: gs, MaxSteps: maxSteps, LogHistory: logger.History()},
				SaveModel: func(dir string) error {
					return checkpoint.WriteTensorFile(dir, "weights", nil,
						map[string]*tensors.Tensor{"/model/proj/weight": store.GetVariable("/model/proj/weight").MustValue()})
				},
				Optimizer: checkpoint.OptimizerState{Meta: meta, Tensors: ost.Tensors},
				Data:      json.RawMessage(fmt.Sprintf(`{"next_step":%d}`, gs)),
				Config:    []byte("learning_rate = 0.05\n"),
			})
			if err != nil {
				return nil, err
			}
			say("saved", filepath.Base(saved))
		}
	}
	var final []byte
	err = store.GetVariable("/model/proj/weight").MustValue().ConstBytes(func(b []byte) { final = append(final, b...) })
	return final, err
}

// Example_trainerLoop shows a trainer loop using optim, checkpoint and metrics together: the
// first run stops after step 4 (as if killed), the second resumes from the latest checkpoint.
func Example_trainerLoop() {
	out, _ := os.MkdirTemp("", "grpo-example-")
	defer os.RemoveAll(out)
	if _, err := exampleRun(out, 4, "", 2, true); err != nil {
		fmt.Println(err)
	}
	if _, err := exampleRun(out, 6, "true", 2, true); err != nil {
		fmt.Println(err)
	}
	all, _ := checkpoint.List(out)
	for _, c := range all {
		fmt.Println("kept", filepath.Base(c.Dir))
	}
	rows, _ := os.ReadFile(filepath.Join(out, metrics.MetricsFile))
	var n int
	for _, b := range rows {
		if b == '\n' {
			n++
		}
	}
	fmt.Println("metrics.jsonl rows:", n)
	// Output:
	// saved checkpoint-2
	// saved checkpoint-4
	// resumed from checkpoint-4
	// saved checkpoint-6
	// kept checkpoint-4
	// kept checkpoint-6
	// metrics.jsonl rows: 3
}

// TestKilledAndResumedRunMatchesStraightRun: 6 steps straight vs 5 steps (checkpoint at 4, the
// process "killed" after logging step 5), resume, and finish: metrics.jsonl must be
// byte-identical and the final weights bit-identical.
func TestKilledAndResumedRunMatchesStraightRun(t *testing.T) {
	straight, resumed := t.TempDir(), t.TempDir()
	want, err := exampleRun(straight, 6, "", 1, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exampleRun(resumed, 5, "", 1, false); err != nil {
		t.Fatal(err)
	}
	got, err := exampleRun(resumed, 6, "true", 1, false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("final weights differ between the straight and the resumed run")
	}
	a, _ := os.ReadFile(filepath.Join(straight, metrics.MetricsFile))
	b, _ := os.ReadFile(filepath.Join(resumed, metrics.MetricsFile))
	if !bytes.Equal(a, b) || bytes.Count(a, []byte("\n")) != 6 {
		t.Fatalf("metrics.jsonl differs:\nstraight:\n%s\nresumed:\n%s", a, b)
	}
	ck, err := checkpoint.Load(filepath.Join(resumed, "checkpoint-6"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ck.Trainer.LogHistory); n != 6 {
		t.Fatalf("trainer_state.json log_history has %d entries after resume, want 6", n)
	}
}
