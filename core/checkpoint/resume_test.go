package checkpoint_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/grpo-dev/grpo/core/accel"
	"github.com/grpo-dev/grpo/core/checkpoint"
	"github.com/grpo-dev/grpo/core/optim"
)

var modelVars = []struct {
	path string
	dims []int
}{{"/model/layers/0/mlp/weight", []int{3, 4}}, {"/model/layers/0/mlp/bias", []int{4}}}

func newStore(t *testing.T, vals map[string]*tensors.Tensor) *model.Store {
	t.Helper()
	s := model.NewStore()
	rng := rand.New(rand.NewPCG(3, 3))
	for _, v := range modelVars {
		val := vals[v.path]
		if val == nil {
			n := 1
			for _, d := range v.dims {
				n *= d
			}
			data := make([]float32, n)
			for i := range data {
				data[i] = float32(rng.NormFloat64())
			}
			val = tensors.FromFlatDataAndDimensions(data, v.dims...)
		}
		if _, err := s.CreateVariable(v.path, val); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func loss(scope *model.Scope, in []*graph.Node) (*graph.Node, []*graph.Node) {
	g := in[0].Graph()
	W := scope.Store().GetVariable(modelVars[0].path).NodeValue(g)
	b := scope.Store().GetVariable(modelVars[1].path).NodeValue(g)
	pred := graph.Add(graph.MatMul(in[0], W), graph.InsertAxes(b, 0))
	return graph.ReduceAllMean(graph.Square(graph.Sub(pred, in[1]))), nil
}

// run is a tiny trainer: 2 accumulated micro-batches per update, data fixed by the step.
type run struct {
	store *model.Store
	opt   *optim.AdamW
	step  *optim.Step
	sched *optim.Schedule
}

func newRun(t *testing.T, store *model.Store) *run {
	t.Helper()
	cfg := optim.DefaultConfig()
	cfg.WeightDecay = 0.01
	cfg.MaxGradNorm = 0.5
	opt, err := optim.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	step, err := opt.NewStep(accel.MustShared(), loss)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := optim.NewSchedule(optim.ScheduleConfig{Type: "cosine", LearningRate: 0.05, NumTrainingSteps: 6, WarmupSteps: 1})
	if err != nil {
		t.Fatal(err)
	}
	return &run{store, opt, step, sched}
}

func (r *run) train(t *testing.T, updates int) {
	t.Helper()
	for range updates {
		k := r.opt.StepCount()
		rng := rand.New(rand.NewPCG(uint64(k), 9))
		for range 2 {
			x, y := make([][]float32, 2), make([][]float32, 2)
			for i := range x {
				x[i] = []float32{float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())}
				y[i] = []float32{float32(rng.NormFloat64() * 3), 1, 2, float32(rng.NormFloat64())}
			}
			if _, _, err := r.step.Accumulate(x, y); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.step.Apply(r.sched.LR(k)); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshot copies every variable's bytes.
func snapshot(t *testing.T, s *model.Store) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for v := range s.IterVariables() {
		if err := v.MustValue().ConstBytes(func(b []byte) { out[v.Path()] = bytes.Clone(b) }); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func (r *run) save(t *testing.T, out string) string {
	t.Helper()
	st, err := r.opt.State()
	if err != nil {
		t.Fatal(err)
	}
	meta, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := (&checkpoint.Manager{OutputDir: out}).Save(checkpoint.State{
		Trainer: checkpoint.TrainerState{GlobalStep: st.Step},
		SaveModel: func(dir string) error {
			ts := map[string]*tensors.Tensor{}
			for v := range r.store.IterVariables() {
				if v.Trainable {
					ts[v.Path()] = v.MustValue()
				}
			}
			return checkpoint.WriteTensorFile(dir, "weights", nil, ts)
		},
		Optimizer: checkpoint.OptimizerState{Meta: meta, Tensors: st.Tensors},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestResumeIsBitIdentical: 3 updates, checkpoint, 3 more updates — against a run restored from
// the checkpoint in a fresh Store doing the same 3 updates. Weights and moments must match bit
// for bit, and the restored optimizer state must equal the saved one bit for bit.
func TestResumeIsBitIdentical(t *testing.T) {
	out := t.TempDir()
	a := newRun(t, newStore(t, nil))
	a.train(t, 3)
	dir := a.save(t, out)
	atSave := snapshot(t, a.store)
	a.train(t, 3)
	want := snapshot(t, a.store)

	ck, err := checkpoint.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, weights, err := checkpoint.ReadTensorFile(ck.Dir, "weights")
	if err != nil {
		t.Fatal(err)
	}
	b := newRun(t, newStore(t, weights))
	var st optim.State
	if err := json.Unmarshal(ck.Optimizer.Meta, &st); err != nil {
		t.Fatal(err)
	}
	st.Tensors = ck.Optimizer.Tensors
	if err := b.opt.Restore(st); err != nil {
		t.Fatal(err)
	}
	if b.opt.StepCount() != 3 || ck.Trainer.GlobalStep != 3 {
		t.Fatalf("restored step %d, trainer global_step %d; want 3", b.opt.StepCount(), ck.Trainer.GlobalStep)
	}
	restored := snapshot(t, b.store)
	for path, bytesAt := range atSave {
		if path[:len(optim.ScopeGradAcc)] == optim.ScopeGradAcc {
			continue // accumulators are zero between steps and not saved
		}
		if !bytes.Equal(restored[path], bytesAt) {
			t.Fatalf("%s differs right after restore", path)
		}
	}
	b.train(t, 3)
	got := snapshot(t, b.store)
	for path, w := range want {
		if !bytes.Equal(got[path], w) {
			t.Fatalf("%s differs after 3 more updates: the resumed run diverged", path)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("resumed store has %d variables, uninterrupted %d", len(got), len(want))
	}
}

func TestRestoreRejectsOtherModel(t *testing.T) {
	out := t.TempDir()
	a := newRun(t, newStore(t, nil))
	a.train(t, 1)
	ck, err := checkpoint.Load(a.save(t, out))
	if err != nil {
		t.Fatal(err)
	}
	var st optim.State
	_ = json.Unmarshal(ck.Optimizer.Meta, &st)
	st.Tensors = ck.Optimizer.Tensors
	// A model whose trainable variable has another name.
	s := model.NewStore()
	if _, err := s.CreateVariable("/other/weight", tensors.FromFlatDataAndDimensions(make([]float32, 12), 3, 4)); err != nil {
		t.Fatal(err)
	}
	opt, _ := optim.New(s, optim.DefaultConfig())
	if err := opt.Restore(st); err != nil {
		t.Fatal(err) // checked when the first graph binds the variables
	}
	step, _ := opt.NewStep(accel.MustShared(), func(scope *model.Scope, in []*graph.Node) (*graph.Node, []*graph.Node) {
		w := scope.Store().GetVariable("/other/weight").NodeValue(in[0].Graph())
		return graph.ReduceAllSum(graph.MatMul(in[0], w)), nil
	})
	_, _, _, err = step.Update(0.1, [][]float32{{1, 2, 3}})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("different model")) {
		t.Fatalf("restoring moments of another model: got %v", err)
	}
}
