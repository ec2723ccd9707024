package optim

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Scope under which AdamW keeps its variables in the Store (all non-trainable):
//
//	/optim/exp_avg/<param path>     first moment m, float32
//	/optim/exp_avg_sq/<param path>  second moment v, float32
//	/optim/grad_acc/<param path>    gradient accumulator (only when Accumulate is used), float32
//
// The names follow torch.optim.AdamW's state keys.
const (
	ScopeExpAvg   = "/optim/exp_avg"
	ScopeExpAvgSq = "/optim/exp_avg_sq"
	ScopeGradAcc  = "/optim/grad_acc"
)

// Reduction says how the gradients of the micro-batches of one optimizer step are combined.
type Reduction int

const (
	// Mean divides the sum of the micro-batch gradients by the number of micro-batches
	// accumulated since the last update. This is HF Trainer's gradient accumulation (each
	// micro-batch loss is divided by gradient_accumulation_steps before backward): the update
	// follows the gradient of the mean of the micro-batch losses. RLT's GRPO objective (an
	// equal-weight mean over the sequences of a step, rlt.md §2.4) is this with equal-sized
	// micro-batches.
	Mean Reduction = iota
	// Sum applies the plain sum of the micro-batch gradients: the loss function has already
	// normalised each micro-batch by the whole step (e.g. TRL's token-level "dapo"/"dr_grpo"
	// losses divide by the number of tokens of the whole step).
	Sum
)

// Config holds AdamW's hyperparameters. Names in comments are the TrainingArguments keys.
type Config struct {
	Beta1       float64 // adam_beta1 (0.9)
	Beta2       float64 // adam_beta2 (0.999)
	Epsilon     float64 // adam_epsilon (1e-8), added to sqrt(v̂) as torch does
	WeightDecay float64 // weight_decay (0.0), decoupled: p ← p − lr·wd·p
	// MaxGradNorm is max_grad_norm (1.0): the global L2 norm of all gradients is clipped to it
	// with torch.nn.utils.clip_grad_norm_'s rule. <= 0 turns clipping off (the norm is still
	// computed and reported).
	MaxGradNorm float64
	// NoDecay reports whether the trainable variable at path is excluded from weight decay. nil
	// means HFNoDecay (biases and norm weights, as HF Trainer's get_decay_parameter_names).
	NoDecay func(path string) bool
	// Reduction combines accumulated micro-batch gradients (Mean by default).
	Reduction Reduction
}

// DefaultConfig returns torch.optim.AdamW's and HF TrainingArguments' defaults.
func DefaultConfig() Config {
	return Config{Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8, WeightDecay: 0, MaxGradNorm: 1.0}
}

// Validate reports a configuration torch would reject, naming the key.
func (c Config) Validate() error {
	switch {
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Errorf("adam_beta1 = %g: must be in [0, 1)", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("adam_beta2 = %g: must be in [0, 1)", c.Beta2)
	case !(c.Epsilon >= 0):
		return fmt.Errorf("adam_epsilon = %g: must be >= 0", c.Epsilon)
	case !(c.WeightDecay >= 0):
		return fmt.Errorf("weight_decay = %g: must be >= 0", c.WeightDecay)
	case math.IsNaN(c.MaxGradNorm):
		return fmt.Errorf("max_grad_norm is NaN: use a positive number, or 0 to turn clipping off")
	case c.Reduction != Mean && c.Reduction != Sum:
		return fmt.Errorf("unknown gradient reduction %d", c.Reduction)
	}
	return nil
}

// AdamW is torch.optim.AdamW (decoupled weight decay, bias correction, eps outside the square
// root) over the trainable variables of a model.Store, with HF Trainer's extras: a weight-decay
// mask, global-norm gradient clipping and gradient accumulation.
//
// GoMLX's ml/train/optimizer.Adam is not used because it cannot exclude variables from weight
// decay (its WeightDecay applies to every variable), has no global-norm clipping, and keeps its
// step counter as a float in the graph; matching torch step for step needs all three.
//
// Trainable variables must be float32: they are the master weights. A model computing in
// bfloat16 converts them in its forward pass (graph.ConvertDType), so gradients come back in
// float32 through the conversion's VJP and the moments stay float32 too.
//
// The set of trainable variables is taken from the first graph that AdamW builds (those the
// loss uses, in Store order) and must be the same in every later graph. AdamW is not safe for
// concurrent use.
type AdamW struct {
	store *model.Store
	cfg   Config

	params []*model.Variable // bound on the first graph build
	decay  []bool

	step     int64 // optimizer updates applied (torch's state["step"])
	pending  int   // micro-batches accumulated since the last update
	restored map[string]*tensors.Tensor
}

// New returns an AdamW for the trainable variables of store.
func New(store *model.Store, cfg Config) (*AdamW, error) {
	if store == nil {
		return nil, fmt.Errorf("optim.New: nil model.Store")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("optimizer config: %w", err)
	}
	if cfg.NoDecay == nil {
		cfg.NoDecay = HFNoDecay
	}
	return &AdamW{store: store, cfg: cfg}, nil
}

// Config returns the configuration in use.
func (o *AdamW) Config() Config { return o.cfg }

// StepCount returns how many updates have been applied (torch's state["step"]).
func (o *AdamW) StepCount() int64 { return o.step }

// Pending returns how many micro-batch gradients are accumulated and not yet applied.
func (o *AdamW) Pending() int { return o.pending }

// Params returns the paths of the optimized variables and whether each gets weight decay, once
// a graph has been built (nil before).
func (o *AdamW) Params() (paths []string, decay []bool) {
	for i, v := range o.params {
		paths = append(paths, v.Path())
		decay = append(decay, o.decay[i])
	}
	return paths, decay
}

// bind finds the trainable variables used by g, on the first call records them (creating the
// moments), and on later calls checks they are the same. It panics with an error (GoMLX's
// graph builders turn panics into errors returned by Exec).
func (o *AdamW) bind(g *graph.Graph) {
	var used []*model.Variable
	for v := range o.store.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			used = append(used, v)
		}
	}
	if len(used) == 0 {
		panic(fmt.Errorf("optim: the loss uses no trainable variable of the Store: nothing to optimize"))
	}
	if o.params != nil {
		if !slices.Equal(o.params, used) {
			panic(fmt.Errorf("optim: this graph uses trainable variables %s, the optimizer was bound to %s: "+
				"every train graph must use the same trainable variables", pathList(used), pathList(o.params)))
		}
		return
	}
	for _, v := range used {
		if v.DType() != dtypes.Float32 {
			panic(fmt.Errorf("optim: trainable variable %q is %s: keep trainable weights in float32 "+
				"(master weights) and convert to %s inside the forward pass", v.Path(), v.DType(), v.DType()))
		}
	}
	if o.restored != nil {
		if err := o.checkRestored(used); err != nil {
			panic(err)
		}
		o.restored = nil
	}
	o.params = used
	o.decay = make([]bool, len(used))
	for i, v := range used {
		o.decay[i] = o.cfg.WeightDecay != 0 && !o.cfg.NoDecay(v.Path())
	}
}

func pathList(vs []*model.Variable) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range vs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v.Path())
	}
	b.WriteByte(']')
	return b.String()
}

// stateVar returns (creating it zero-initialized if needed) the float32 state variable of param
// under scope.
func (o *AdamW) stateVar(scope string, param *model.Variable) *model.Variable {
	shape := shapes.Make(dtypes.Float32, param.Shape().Dimensions...)
	v := o.store.VariableWithShape(scope+param.Path(), shape, graph.Zeros)
	v.Trainable = false
	return v
}

// gradients returns d loss / d param for the bound params, in float32.
func (o *AdamW) gradients(loss *graph.Node) []*graph.Node {
	if !loss.Shape().IsScalar() {
		panic(fmt.Errorf("optim: the loss must be a scalar, got shape %s", loss.Shape()))
	}
	g := loss.Graph()
	o.bind(g)
	nodes := make([]*graph.Node, len(o.params))
	for i, v := range o.params {
		nodes[i] = v.NodeValue(g)
	}
	grads := graph.Gradient(loss, nodes...)
	for i, gr := range grads {
		if gr.DType() != dtypes.Float32 {
			grads[i] = graph.ConvertDType(gr, dtypes.Float32)
		}
	}
	return grads
}

// accumulateGraph adds the gradients of loss to the accumulators.
func (o *AdamW) accumulateGraph(loss *graph.Node) {
	grads := o.gradients(loss)
	g := loss.Graph()
	for i, v := range o.params {
		acc := o.stateVar(ScopeGradAcc, v)
		acc.SetNodeValue(graph.Add(acc.NodeValue(g), grads[i]))
	}
}

// hyper are the per-update scalars, computed in Go float64 from the step count and learning
// rate exactly as torch computes them in Python, and fed to the graph as float32 inputs so
// that a new learning rate or step never recompiles.
type hyper struct {
	decayFactor float64 // 1 − lr·wd
	stepSize    float64 // lr / (1 − β1^t)
	bc2Sqrt     float64 // sqrt(1 − β2^t)
	gradScale   float64 // 1/N (Mean) or 1 (Sum)
}

func (o *AdamW) hyperFor(lr float64, t int64, n int) hyper {
	h := hyper{
		decayFactor: 1 - lr*o.cfg.WeightDecay,
		stepSize:    lr / (1 - math.Pow(o.cfg.Beta1, float64(t))),
		bc2Sqrt:     math.Sqrt(1 - math.Pow(o.cfg.Beta2, float64(t))),
		gradScale:   1,
	}
	if o.cfg.Reduction == Mean && n > 1 {
		h.gradScale = 1 / float64(n)
	}
	return h
}

func (h hyper) args() []any {
	return []any{float32(h.decayFactor), float32(h.stepSize), float32(h.bc2Sqrt), float32(h.gradScale)}
}

const numHyper = 4

// updateGraph applies one AdamW update with grads (one per bound param) and returns the
// global gradient norm before clipping. hyperNodes are the numHyper scalar inputs of hyper.
//
// Per parameter, in torch's order (torch/optim/adam.py, _single_tensor_adam with
// decoupled_weight_decay=True; the foreach path computes the same):
//
//	g ← g·gradScale·clip                      (accumulation mean, then clip_grad_norm_)
//	p ← p·(1 − lr·wd)                         (only for decayed params)
//	m ← m + (1 − β1)·(g − m)                  (exp_avg.lerp_(grad, 1 − β1))
//	v ← β2·v + (1 − β2)·g·g                   (exp_avg_sq.mul_(β2).addcmul_(g, g, 1 − β2))
//	p ← p − stepSize · m / (sqrt(v)/bc2Sqrt + ε)
func (o *AdamW) updateGraph(g *graph.Graph, grads []*graph.Node, hyperNodes []*graph.Node) *graph.Node {
	decayFactor, stepSize, bc2Sqrt, gradScale := hyperNodes[0], hyperNodes[1], hyperNodes[2], hyperNodes[3]
	f32 := func(x float64) *graph.Node { return graph.Scalar(g, dtypes.Float32, x) }

	for i := range grads {
		grads[i] = graph.Mul(grads[i], gradScale)
	}
	// torch.nn.utils.clip_grad_norm_: total = ‖(‖g_1‖, …, ‖g_n‖)‖₂ (= sqrt of the sum of all
	// squares), clip_coef = max_norm/(total + 1e-6), clamped to ≤ 1, and every gradient is
	// multiplied by it (a no-op multiply by 1 when the norm is small).
	sumSq := f32(0)
	for _, gr := range grads {
		sumSq = graph.Add(sumSq, graph.ReduceAllSum(graph.Square(gr)))
	}
	norm := graph.Sqrt(sumSq)
	if o.cfg.MaxGradNorm > 0 {
		coef := graph.Min(graph.Div(f32(o.cfg.MaxGradNorm), graph.Add(norm, f32(1e-6))), f32(1))
		for i := range grads {
			grads[i] = graph.Mul(grads[i], coef)
		}
	}

	oneMinusBeta1 := f32(1 - o.cfg.Beta1)
	beta2 := f32(o.cfg.Beta2)
	oneMinusBeta2 := f32(1 - o.cfg.Beta2)
	eps := f32(o.cfg.Epsilon)
	for i, v := range o.params {
		gr := grads[i]
		mVar, vVar := o.stateVar(ScopeExpAvg, v), o.stateVar(ScopeExpAvgSq, v)
		p := v.NodeValue(g)
		if o.decay[i] {
			p = graph.Mul(p, decayFactor)
		}
		m := mVar.NodeValue(g)
		m = graph.Add(m, graph.Mul(oneMinusBeta1, graph.Sub(gr, m)))
		sq := vVar.NodeValue(g)
		sq = graph.Add(graph.Mul(sq, beta2), graph.Mul(oneMinusBeta2, graph.Mul(gr, gr)))
		denom := graph.Add(graph.Div(graph.Sqrt(sq), bc2Sqrt), eps)
		p = graph.Sub(p, graph.Mul(stepSize, graph.Div(m, denom)))
		mVar.SetNodeValue(m)
		vVar.SetNodeValue(sq)
		v.SetNodeValue(p)
	}
	return norm
}

// applyAccumulatedGraph updates the params with the accumulated gradients (plus extra, the
// gradients of a last micro-batch, when not nil) and zeroes the accumulators.
func (o *AdamW) applyAccumulatedGraph(g *graph.Graph, hyperNodes []*graph.Node) *graph.Node {
	if o.params == nil {
		panic(fmt.Errorf("optim: Apply before any Accumulate: nothing to apply"))
	}
	grads := make([]*graph.Node, len(o.params))
	for i, v := range o.params {
		acc := o.stateVar(ScopeGradAcc, v)
		grads[i] = acc.NodeValue(g)
		acc.SetNodeValue(graph.ZerosLike(grads[i]))
	}
	return o.updateGraph(g, grads, hyperNodes)
}
