package optim

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/grpo-dev/grpo/core/accel"
)

// parityDump is what TestTorchParityDump writes for scripts/gpu/optim_parity.py, which replays
// the same steps with torch.optim.AdamW and torch.nn.utils.clip_grad_norm_.
type parityDump struct {
	Backend     string        `json:"backend"`
	Beta1       float64       `json:"beta1"`
	Beta2       float64       `json:"beta2"`
	Eps         float64       `json:"eps"`
	WeightDecay float64       `json:"weight_decay"`
	MaxGradNorm float64       `json:"max_grad_norm"`
	Names       []string      `json:"names"` // HF dotted names, in order W, b, n
	Decay       []bool        `json:"decay"` // Go's weight-decay mask
	Dims        [][]int       `json:"dims"`
	Init        [][]float32   `json:"init"`
	Steps       []parityStep  `json:"steps"`
	After       [][][]float32 `json:"after"` // per step, per param
	GradNorms   []float64     `json:"grad_norms"`
	Losses      [][]float64   `json:"losses"` // per step, per micro-batch
}

type parityStep struct {
	LR    float64       `json:"lr"`
	Micro []parityBatch `json:"micro"`
}

type parityBatch struct {
	X [][]float32 `json:"x"`
	Y [][]float32 `json:"y"`
}

// TestTorchParityDump runs 8 AdamW steps (2 micro-batches each, weight decay on W only, clipping
// on some steps) of a 64→32 model on the backend GOMLX_BACKEND selects and writes the inputs and
// results as JSON. It runs only when GRPO_OPTIM_PARITY_OUT names a directory.
func TestTorchParityDump(t *testing.T) {
	out := os.Getenv("GRPO_OPTIM_PARITY_OUT")
	if out == "" {
		t.Skip("set GRPO_OPTIM_PARITY_OUT (scripts/gpu/optim_parity.sh does)")
	}
	const in, outDim, B = 64, 32, 16
	cfg := DefaultConfig()
	cfg.WeightDecay = 0.1
	cfg.MaxGradNorm = 2.0
	rng := rand.New(rand.NewPCG(2026, 11))
	store := model.NewStore()
	d := parityDump{Backend: accel.Config(), Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: cfg.Epsilon,
		WeightDecay: cfg.WeightDecay, MaxGradNorm: cfg.MaxGradNorm}
	for _, p := range []struct {
		path   string
		dims   []int
		center float64
	}{{pathW, []int{in, outDim}, 0}, {pathB, []int{outDim}, 0}, {pathN, []int{outDim}, 1}} {
		n := 1
		for _, x := range p.dims {
			n *= x
		}
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = float32(p.center + rng.NormFloat64()*0.1)
		}
		if _, err := store.CreateVariable(p.path, tensors.FromFlatDataAndDimensions(vals, p.dims...)); err != nil {
			t.Fatal(err)
		}
		d.Names = append(d.Names, DottedName(p.path))
		d.Dims = append(d.Dims, p.dims)
		d.Init = append(d.Init, vals)
	}
	opt, err := New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	step, err := opt.NewStep(accel.MustShared(), func(scope *model.Scope, x []*graph.Node) (*graph.Node, []*graph.Node) {
		g := x[0].Graph()
		st := scope.Store()
		z := graph.Add(graph.MatMul(x[0], st.GetVariable(pathW).NodeValue(g)), graph.InsertAxes(st.GetVariable(pathB).NodeValue(g), 0))
		pred := graph.Mul(z, graph.InsertAxes(st.GetVariable(pathN).NodeValue(g), 0))
		return graph.ReduceAllMean(graph.Square(graph.Sub(pred, x[1]))), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sched, err := NewSchedule(ScheduleConfig{Type: "linear", LearningRate: 1e-2, NumTrainingSteps: 10, WarmupSteps: 2})
	if err != nil {
		t.Fatal(err)
	}
	for k := range 8 {
		ps := parityStep{LR: sched.LR(int64(k))}
		var losses []float64
		for mb := range 2 {
			scale := 0.1 // odd steps get one micro-batch of large targets: large gradients, clipped
			if k%2 == 1 && mb == 1 {
				scale = 8
			}
			var b parityBatch
			for range B {
				xr, yr := make([]float32, in), make([]float32, outDim)
				for i := range xr {
					xr[i] = float32(rng.NormFloat64())
				}
				for i := range yr {
					yr[i] = float32(rng.NormFloat64() * scale)
				}
				b.X, b.Y = append(b.X, xr), append(b.Y, yr)
			}
			loss, _, err := step.Accumulate(b.X, b.Y)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, loss)
			ps.Micro = append(ps.Micro, b)
		}
		st, err := step.Apply(ps.LR)
		if err != nil {
			t.Fatal(err)
		}
		d.Steps = append(d.Steps, ps)
		d.GradNorms = append(d.GradNorms, st.GradNorm)
		d.Losses = append(d.Losses, losses)
		var after [][]float32
		for _, p := range []string{pathW, pathB, pathN} {
			after = append(after, tensors.MustCopyFlatData[float32](store.GetVariable(p).MustValue()))
		}
		d.After = append(d.After, after)
	}
	_, d.Decay = opt.Params()
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "go_adamw.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d steps, backend %s)", filepath.Join(out, "go_adamw.json"), len(d.Steps), d.Backend)
}
