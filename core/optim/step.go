package optim

import (
	"fmt"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// LossFn builds a trainer's loss for one micro-batch. inputs are the tensors given to
// Accumulate or Update, in order. It returns the scalar loss to minimise and any extra nodes
// the trainer wants back (metrics such as KL or entropy), computed in the same pass.
//
// It is called once per distinct input shape (GoMLX caches compiled graphs by shape); Go values
// it reads are baked into the graph, so anything that changes during training must be an input.
type LossFn func(scope *model.Scope, inputs []*graph.Node) (loss *graph.Node, outputs []*graph.Node)

// Stats describes one applied update.
type Stats struct {
	Step       int64   // updates applied so far, this one included
	LR         float64 // learning rate used
	GradNorm   float64 // global L2 gradient norm before clipping (HF's logged grad_norm)
	MicroSteps int     // micro-batches whose gradients this update combined
}

// Step runs a LossFn's forward and backward passes and the AdamW updates as compiled GoMLX
// graphs over the optimizer's Store. One optimizer step is either
//
//   - Update(lr, batch): forward, backward and update in one graph (no accumulator memory), or
//   - Accumulate(batch) for each micro-batch, then Apply(lr): gradients are summed into
//     float32 accumulators (one per trainable variable) and applied by a small update-only
//     graph, so the forward/backward graph compiles once per micro-batch shape.
//
// The learning rate and the step's bias corrections are graph inputs: schedules never recompile.
type Step struct {
	opt      *AdamW
	accExec  *model.Exec
	updExec  *model.Exec
	applExec *model.Exec
}

// NewStep compiles (lazily, on first use of each shape) the training graphs of lossFn.
func (o *AdamW) NewStep(backend compute.Backend, lossFn LossFn) (*Step, error) {
	if backend == nil || lossFn == nil {
		return nil, fmt.Errorf("optim.NewStep: backend and lossFn are required")
	}
	s := &Step{opt: o}
	var err error
	s.accExec, err = model.NewExec(backend, o.store, func(scope *model.Scope, g *graph.Graph, inputs []*graph.Node) []*graph.Node {
		o.store.SetTraining(g, true)
		loss, outs := callLoss(lossFn, scope, inputs)
		o.accumulateGraph(loss)
		return append([]*graph.Node{lossOut(loss)}, outs...)
	})
	if err != nil {
		return nil, fmt.Errorf("optim: creating accumulate graph: %w", err)
	}
	s.updExec, err = model.NewExec(backend, o.store, func(scope *model.Scope, g *graph.Graph, inputs []*graph.Node) []*graph.Node {
		o.store.SetTraining(g, true)
		n := len(inputs) - numHyper
		loss, outs := callLoss(lossFn, scope, inputs[:n])
		norm := o.updateGraph(g, o.gradients(loss), inputs[n:])
		return append([]*graph.Node{lossOut(loss), norm}, outs...)
	})
	if err != nil {
		return nil, fmt.Errorf("optim: creating update graph: %w", err)
	}
	s.applExec, err = model.NewExec(backend, o.store, func(scope *model.Scope, g *graph.Graph, inputs []*graph.Node) []*graph.Node {
		return []*graph.Node{o.applyAccumulatedGraph(g, inputs)}
	})
	if err != nil {
		return nil, fmt.Errorf("optim: creating apply graph: %w", err)
	}
	return s, nil
}

// SetMaxCache raises the number of compiled shapes kept per graph (GoMLX's default is 32;
// -1 means unlimited). Trainers with many bucket shapes call it once.
func (s *Step) SetMaxCache(n int) {
	s.accExec.SetMaxCache(n)
	s.updExec.SetMaxCache(n)
}

func callLoss(fn LossFn, scope *model.Scope, inputs []*graph.Node) (*graph.Node, []*graph.Node) {
	loss, outs := fn(scope, inputs)
	if loss == nil {
		panic(fmt.Errorf("optim: the loss function returned a nil loss"))
	}
	return loss, outs
}

// lossOut is the loss as returned to Go: float32 whatever the compute dtype.
func lossOut(loss *graph.Node) *graph.Node {
	if loss.DType() != dtypes.Float32 {
		return graph.ConvertDType(loss, dtypes.Float32)
	}
	return loss
}

// Accumulate runs forward and backward on one micro-batch and adds its gradients to the
// accumulators. It returns the micro-batch loss and the LossFn's extra outputs.
func (s *Step) Accumulate(inputs ...any) (loss float64, outputs []*tensors.Tensor, err error) {
	res, err := s.accExec.Exec(inputs...)
	if err != nil {
		return 0, nil, fmt.Errorf("optim: accumulate step (micro-batch %d of update %d): %w",
			s.opt.pending+1, s.opt.step+1, err)
	}
	s.opt.pending++
	loss, err = scalarOf(res[0], "loss")
	return loss, res[1:], err
}

// Apply updates the weights with the accumulated gradients (combined per Config.Reduction)
// at learning rate lr, and zeroes the accumulators.
func (s *Step) Apply(lr float64) (Stats, error) {
	o := s.opt
	if o.pending == 0 {
		return Stats{}, fmt.Errorf("optim: Apply with no accumulated micro-batch: call Accumulate first (or Update for a single micro-batch)")
	}
	if err := checkLR(lr); err != nil {
		return Stats{}, err
	}
	t := o.step + 1
	res, err := s.applExec.Exec(o.hyperFor(lr, t, o.pending).args()...)
	if err != nil {
		return Stats{}, fmt.Errorf("optim: apply update %d: %w", t, err)
	}
	st := Stats{Step: t, LR: lr, MicroSteps: o.pending}
	o.step, o.pending = t, 0
	st.GradNorm, err = scalarOf(res[0], "grad_norm")
	return st, err
}

// Update runs forward, backward and the AdamW update for a single micro-batch in one graph. It
// refuses to run while gradients are pending from Accumulate (use Apply to finish that step).
func (s *Step) Update(lr float64, inputs ...any) (loss float64, outputs []*tensors.Tensor, st Stats, err error) {
	o := s.opt
	if o.pending != 0 {
		return 0, nil, Stats{}, fmt.Errorf("optim: Update with %d accumulated micro-batches pending: finish the step with Apply", o.pending)
	}
	if err := checkLR(lr); err != nil {
		return 0, nil, Stats{}, err
	}
	t := o.step + 1
	args := append(append([]any{}, inputs...), o.hyperFor(lr, t, 1).args()...)
	res, err := s.updExec.Exec(args...)
	if err != nil {
		return 0, nil, Stats{}, fmt.Errorf("optim: update %d: %w", t, err)
	}
	o.step = t
	st = Stats{Step: t, LR: lr, MicroSteps: 1}
	if loss, err = scalarOf(res[0], "loss"); err != nil {
		return 0, nil, st, err
	}
	st.GradNorm, err = scalarOf(res[1], "grad_norm")
	return loss, res[2:], st, err
}

func checkLR(lr float64) error {
	if math.IsNaN(lr) || math.IsInf(lr, 0) || lr < 0 {
		return fmt.Errorf("optim: learning rate %g: must be a finite number >= 0 (check learning_rate and lr_scheduler_type)", lr)
	}
	return nil
}

// scalarOf reads a scalar float32 tensor as float64.
func scalarOf(t *tensors.Tensor, what string) (float64, error) {
	if !t.Shape().IsScalar() {
		return 0, fmt.Errorf("optim: %s has shape %s, want a scalar", what, t.Shape())
	}
	v, ok := t.Value().(float32)
	if !ok {
		return 0, fmt.Errorf("optim: %s has dtype %s, want float32", what, t.Shape().DType)
	}
	return float64(v), nil
}
