package grpo

import (
	"fmt"
	"math/bits"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/support/exceptions"
)

// LogProbsConfig configures TokenLogProbs.
type LogProbsConfig struct {
	// Temperature τ > 0 divides the logits before the log-softmax: the log-probs are those of the
	// distribution the tokens were sampled from (RLT unbias_log_probabilities, trainers/grpo.py:668-669;
	// TRL HEAD grpo_trainer.py:1519 `logits.div_(self.temperature)`). Use 1 for plain
	// cross-entropy (SFT).
	Temperature float64
	// ChunkSize is the number of tokens whose logits exist at once, forward and backward. 0 picks
	// DefaultChunkSize(V).
	ChunkSize int
	// Entropy also returns the entropy of the tempered distribution at every position.
	Entropy bool
	// Loop chooses how the chunks are iterated (LoopAuto by default).
	Loop ChunkLoop
}

// ChunkLoop chooses how TokenLogProbs iterates over token chunks.
type ChunkLoop int

const (
	// LoopAuto uses LoopWhile on the pure-Go backend and LoopUnrolled on XLA.
	LoopAuto ChunkLoop = iota
	// LoopWhile runs one While loop for the forward pass and one for the gradient: exactly one
	// chunk's [chunk, V] logits are alive at a time, which the pure-Go backend (no buffer
	// scheduler) needs to bound memory.
	LoopWhile
	// LoopUnrolled writes the chunks out one after another in the main graph. XLA's scheduler and
	// buffer assignment keep few chunks alive at once. It exists because go-xla v0.4.1 caches the
	// reduction closures of Reduce/Scatter per program keyed by (dtype, op) and parents them to
	// the first function that used them, so the same reduction in two functions of one program
	// (two While bodies, or a body and the main function) fails to build ("reductionFn is not a
	// StableHLO closure of main"). At most maxUnrolledChunks chunks are written out; the chunk
	// size grows to fit.
	LoopUnrolled
)

// maxUnrolledChunks bounds the graph size of LoopUnrolled.
const maxUnrolledChunks = 32

// DefaultChunkSize returns the number of tokens per chunk for a vocabulary of the given size: the
// largest power of two whose [chunk, vocab] logits hold at most 2^26 elements (256 MiB in float32),
// clamped to [8, 4096]. For Qwen's 151,936-token vocabulary that is 256 tokens (155 MB of logits).
func DefaultChunkSize(vocab int) int {
	if vocab <= 0 {
		return 4096
	}
	c := (1 << 26) / vocab
	if c < 8 {
		return 8
	}
	if c > 4096 {
		return 4096
	}
	return 1 << (bits.Len(uint(c)) - 1)
}

// TokenLogProbs returns the log-probability of each target token and, with cfg.Entropy, the entropy
// of the predicted distribution, from the decoder's last hidden states and its output projection:
//
//	z_t     = (h_t · Wᵀ) / τ                                  logits of position t, [V]
//	logp_t  = z_t[y_t] − logsumexp(z_t)                        (TRL selective_log_softmax)
//	H_t     = −Σ_v softmax(z_t)_v · log softmax(z_t)_v          (TRL entropy_from_logits)
//
// hidden is [..., D] (usually [B, T, D]: position t holds the state that predicts targets[..., t]),
// proj is [V, D] (Hugging Face layout: lm_head.weight, or the tied embedding matrix), targets has
// hidden's shape without the last axis, with ids in [0, V) (out-of-range ids are not detected in
// the graph; check them on the host). Both outputs have targets' shape, in float32 (float64 when
// hidden or proj is float64), whatever the input dtype: bf16 states and weights are multiplied with
// float32 accumulation and the softmax runs in float32.
//
// Memory: the [tokens, V] logits never exist whole. The forward pass and the gradient each run a
// While loop over chunks of cfg.ChunkSize tokens, so at most a few [ChunkSize, V] buffers are
// alive at once (full logits for 16k tokens × 152k vocabulary would be 10 GB in float32).
//
// Gradients flow to hidden and proj (through the logp and entropy outputs) by a custom
// vector-Jacobian product that recomputes each chunk's logits, as gradient checkpointing would:
//
//	∂logp_t/∂z_t = onehot(y_t) − p_t
//	∂H_t/∂z_t    = −p_t ⊙ (log p_t + H_t)
//	G_t          = (g_t·∂logp_t/∂z_t + gH_t·∂H_t/∂z_t) / τ      (g, gH: incoming adjoints)
//	∂/∂h_t       = G_t · W        ∂/∂W = Σ_t G_tᵀ ⊗ h_t
//
// The loss trainer and the SFT cross-entropy both use it ("chosen-token log-prob"); the GRPO
// objective is in Loss.
//
// It panics (GoMLX graph-building convention) on invalid shapes or configuration; model.Exec and
// graph.Exec turn the panic into an error.
func TokenLogProbs(hidden, proj, targets *Node, cfg LogProbsConfig) (logProbs, entropy *Node) {
	c := newChunkedLogProbs(hidden, proj, targets, cfg)

	// Values: computed from stopped inputs, so autodiff never looks inside the While loop.
	lp, ent := c.forward()

	// Gradient plumbing. The custom gradients of hg and wg (identities of hidden and proj) return
	// the chunked VJP computed from the adjoints of the outputs, which the outputs' own custom
	// gradients (created below, so visited first by the reverse sweep, which goes in decreasing
	// node order) record in c. The link term is exactly zero (x − x) and only connects hg and wg
	// to the outputs so that the reverse sweep reaches them.
	wg := IdentityWithCustomGradient(c.proj, func(_, _ *Node) *Node { return c.gradients().proj })
	hg := IdentityWithCustomGradient(c.hidden, func(_, _ *Node) *Node { return c.gradients().hidden })
	link := Add(zeroLink(hg, c.dtype), zeroLink(wg, c.dtype))

	logProbs = IdentityWithCustomGradient(Add(lp, link), func(_, v *Node) *Node {
		c.setAdjoint(&c.adjLogProbs, v)
		return v
	})
	logProbs = Reshape(logProbs, targets.Shape().Dimensions...)
	if ent != nil {
		entropy = IdentityWithCustomGradient(Add(ent, link), func(_, v *Node) *Node {
			c.setAdjoint(&c.adjEntropy, v)
			return v
		})
		entropy = Reshape(entropy, targets.Shape().Dimensions...)
	}
	return logProbs, entropy
}

// chunkedLogProbs holds one TokenLogProbs call: its inputs flattened to [N, D] / [N], the chunk
// geometry, and the adjoints recorded during a reverse sweep.
type chunkedLogProbs struct {
	g            *Graph
	hidden       *Node // [N, D], caller's dtype
	proj         *Node // [V, D], caller's dtype
	targets      *Node // [N] int32
	dtype        dtypes.DType
	invTemp      float64
	temperature  float64
	entropy      bool
	n, d, v      int
	chunk, count int  // tokens per chunk, number of chunks
	unrolled     bool // LoopUnrolled (else LoopWhile)

	// Adjoints of the outputs ([N], c.dtype) from the current reverse sweep; pending is set when
	// they change, so a second Gradient call over the same graph gets a fresh VJP.
	adjLogProbs, adjEntropy *Node
	pending                 bool
	forwardDone             *Node // an output of the forward loop, to order the backward loop after it
	grads                   chunkedGrads
}

type chunkedGrads struct{ hidden, proj *Node }

func newChunkedLogProbs(hidden, proj, targets *Node, cfg LogProbsConfig) *chunkedLogProbs {
	if hidden == nil || proj == nil || targets == nil {
		exceptions.Panicf("grpo.TokenLogProbs: hidden, proj and targets are all required")
	}
	if hidden.Rank() < 2 {
		exceptions.Panicf("grpo.TokenLogProbs: hidden must be [..., D] with rank >= 2, got %s", hidden.Shape())
	}
	if proj.Rank() != 2 {
		exceptions.Panicf("grpo.TokenLogProbs: proj must be [V, D] (Hugging Face lm_head.weight layout), got %s", proj.Shape())
	}
	d := hidden.Shape().Dim(-1)
	if proj.Shape().Dim(1) != d {
		exceptions.Panicf("grpo.TokenLogProbs: hidden %s and proj %s disagree on D (proj must be [V, D], not [D, V])",
			hidden.Shape(), proj.Shape())
	}
	if !targets.DType().IsInt() {
		exceptions.Panicf("grpo.TokenLogProbs: targets must hold integer token ids, got %s", targets.Shape())
	}
	lead := hidden.Shape().Dimensions[:hidden.Rank()-1]
	if !shapesEqualDims(lead, targets.Shape().Dimensions) {
		exceptions.Panicf("grpo.TokenLogProbs: targets %s must have hidden's shape %s without its last axis",
			targets.Shape(), hidden.Shape())
	}
	if !hidden.DType().IsFloat() || !proj.DType().IsFloat() {
		exceptions.Panicf("grpo.TokenLogProbs: hidden (%s) and proj (%s) must be floating point", hidden.DType(), proj.DType())
	}
	if !(cfg.Temperature > 0) {
		exceptions.Panicf("grpo.TokenLogProbs: temperature must be > 0 (the sampling temperature; 1 for plain cross-entropy), got %v", cfg.Temperature)
	}
	if cfg.ChunkSize < 0 {
		exceptions.Panicf("grpo.TokenLogProbs: chunk size must be >= 0 (0 = automatic), got %d", cfg.ChunkSize)
	}
	n := 1
	for _, dim := range lead {
		n *= dim
	}
	if n == 0 {
		exceptions.Panicf("grpo.TokenLogProbs: no tokens (targets shape %s)", targets.Shape())
	}
	v := proj.Shape().Dim(0)

	dtype := dtypes.Float32
	if hidden.DType() == dtypes.Float64 || proj.DType() == dtypes.Float64 {
		dtype = dtypes.Float64
	}
	// Mixed storage dtypes are unified; equal ones (the usual case) are left alone, so bf16 weights
	// are never copied whole to float32.
	if hidden.DType() != proj.DType() {
		hidden = ConvertDType(hidden, dtype)
		proj = ConvertDType(proj, dtype)
	}

	chunk := cfg.ChunkSize
	if chunk == 0 {
		chunk = DefaultChunkSize(v)
	}
	if chunk > n {
		chunk = n
	}
	g := hidden.Graph()
	unrolled := cfg.Loop == LoopUnrolled || cfg.Loop == LoopAuto && g.Backend().Name() == "xla"
	if unrolled && (n+chunk-1)/chunk > maxUnrolledChunks {
		chunk = (n + maxUnrolledChunks - 1) / maxUnrolledChunks
	}
	return &chunkedLogProbs{
		unrolled:    unrolled,
		g:           g,
		hidden:      Reshape(hidden, n, d),
		proj:        proj,
		targets:     Reshape(ConvertDType(targets, dtypes.Int32), n),
		dtype:       dtype,
		temperature: cfg.Temperature,
		invTemp:     1 / cfg.Temperature,
		entropy:     cfg.Entropy,
		n:           n,
		d:           d,
		v:           v,
		chunk:       chunk,
		count:       (n + chunk - 1) / chunk,
	}
}

func shapesEqualDims(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// zeroLink returns x[0,0] − x[0,0] as a scalar of dtype: exactly zero, with gradient 1 into x[0,0].
func zeroLink(x *Node, dtype dtypes.DType) *Node {
	first := Reshape(Slice(x, AxisRange(0, 1), AxisRange(0, 1)))
	return ConvertDType(Sub(first, StopGradient(first)), dtype)
}

func (c *chunkedLogProbs) setAdjoint(slot **Node, v *Node) {
	*slot = v
	c.pending = true
}

// gradients builds (once per reverse sweep) the chunked VJP from the recorded adjoints.
func (c *chunkedLogProbs) gradients() chunkedGrads {
	if !c.pending {
		if c.grads.hidden == nil {
			exceptions.Panicf("grpo.TokenLogProbs: internal error in %s: gradient requested before the outputs' adjoints were recorded", c)
		}
		return c.grads
	}
	c.grads = c.backward(c.adjLogProbs, c.adjEntropy)
	c.adjLogProbs, c.adjEntropy, c.pending = nil, nil, false
	return c.grads
}

// chunked pads x ([N, ...]) with zero rows to count·chunk rows and reshapes it to
// [count, chunk, ...].
func (c *chunkedLogProbs) chunked(x *Node) *Node {
	padded := c.count * c.chunk
	if padded != c.n {
		tail := x.Shape().Clone()
		tail.Dimensions[0] = padded - c.n
		x = Concatenate([]*Node{x, Zeros(c.g, tail)}, 0)
	}
	dims := append([]int{c.count, c.chunk}, x.Shape().Dimensions[1:]...)
	return Reshape(x, dims...)
}

// unchunked is the inverse of chunked: [count, chunk, ...] → the first N rows of [count·chunk, ...].
func (c *chunkedLogProbs) unchunked(x *Node) *Node {
	dims := append([]int{c.count * c.chunk}, x.Shape().Dimensions[2:]...)
	x = Reshape(x, dims...)
	if c.count*c.chunk != c.n {
		x = Slice(x, AxisRange(0, c.n))
	}
	return x
}

// chunkSoftmax is the softmax of one chunk's tempered logits z = (h·Wᵀ)/τ, kept in the form the
// log-probs, the entropy and their gradients need without more passes over [chunk, V]:
//
//	d = z − max(z)     e = exp(d)     s = Σ_v e     log p = d − log s     p = e / s
type chunkSoftmax struct {
	d, e *Node // [chunk, V]
	logS *Node // [chunk, 1]
	s    *Node // [chunk, 1]
}

// softmaxOf computes chunkSoftmax for hidden states h [chunk, D] and projection w [V, D].
func (c *chunkedLogProbs) softmaxOf(h, w *Node) chunkSoftmax {
	g := h.Graph()
	var z *Node
	if h.DType() == c.dtype {
		// Scale the [chunk, D] states rather than the [chunk, V] logits: one pass less over the
		// big tensor (the product differs from TRL's logits/τ only in the last bit).
		z = dotTo(Mul(h, closureConst(g, c.dtype, c.invTemp)), w, 1, 1, c.dtype)
	} else {
		// Half-precision states: scale after the float32 product, not before (h/τ would round).
		z = Mul(dotTo(h, w, 1, 1, c.dtype), closureConst(g, c.dtype, c.invTemp))
	}
	d := Sub(z, ReduceAndKeep(z, ReduceMax, 1))
	e := Exp(d)
	s := rowSum(e)
	return chunkSoftmax{d: d, e: e, s: s, logS: Log(s)}
}

// rowSum returns Σ_v x[c, v] as [chunk, 1], summing in two levels (blocks of up to 256
// columns, then the block sums). The pure-Go backend reduces sequentially, and a float32 sum of
// 150k terms in one sequence loses ~1e-4 relative (measured 5e-5 at V = 32,000); two levels bring
// it to ~5e-7, the accuracy of PyTorch's float32 sum. XLA reduces in a tree anyway and may fuse
// the two reductions back into one.
func rowSum(x *Node) *Node {
	rows, cols := x.Shape().Dim(0), x.Shape().Dim(1)
	block := 256
	for block > 16 && cols%block != 0 {
		block /= 2
	}
	if cols < 2*block {
		return ReduceAndKeep(x, ReduceSum, 1)
	}
	full := cols / block * block
	head := x
	if full != cols {
		head = Slice(x, AxisRange(), AxisRange(0, full))
	}
	sum := ReduceSum(ReduceSum(Reshape(head, rows, full/block, block), 2), 1)
	if full != cols {
		sum = Add(sum, ReduceSum(Slice(x, AxisRange(), AxisRange(full, cols)), 1))
	}
	return Reshape(sum, rows, 1)
}

// dotTo contracts axis lc of lhs with axis rc of rhs (both rank 2), producing dtype: half-precision
// operands accumulate in float32 and are never converted whole.
func dotTo(lhs, rhs *Node, lc, rc int, dtype dtypes.DType) *Node {
	b := Dot(lhs, rhs)
	if lhs.DType() != dtype {
		b = b.WithAccumulatorDType(dtype).WithOutputDType(dtype)
	}
	return b.General([]int{lc}, nil, []int{rc}, nil)
}

// meanD returns μ = Σ_v p_v·d_v ([chunk, 1]). The entropy is H = −Σ p·log p = log s − μ, a form
// without the cancellation of lse − Σ p·z when logits are large and the distribution peaked.
func (sm chunkSoftmax) meanD() *Node {
	return Div(rowSum(Mul(sm.e, sm.d)), sm.s)
}

// chosenIndices returns [chunk, 2] indices (row, target) for gathering/scattering the chosen token.
func (c *chunkedLogProbs) chosenIndices(targets *Node) *Node {
	rows := Iota(c.g, shapes.Make(dtypes.Int32, c.chunk), 0)
	return Stack([]*Node{rows, targets}, 1)
}

// closureConst creates a scalar constant for use inside a While closure. GoMLX v0.28.2 caches
// scalars per graph, not per function (graph.go:832 getScalarConst), so Scalar, MulScalar,
// AddScalar, ScalarZero... called inside a closure would hand later main-function code a node of
// the closure's scope ("uses a node from a different function scope"). Const is not cached.
func closureConst(g *Graph, dtype dtypes.DType, value float64) *Node {
	return ConstAsDType(g, dtype, value)
}

// String describes the chunk geometry (for logs and errors).
func (c *chunkedLogProbs) String() string {
	return fmt.Sprintf("TokenLogProbs(N=%d, D=%d, V=%d, chunk=%d×%d, τ=%g, %s)",
		c.n, c.d, c.v, c.count, c.chunk, c.temperature, c.dtype)
}
