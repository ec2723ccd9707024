package grpo

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/support/exceptions"
)

// This file iterates TokenLogProbs over token chunks, forward and backward, either in While loops
// or unrolled (see ChunkLoop). Both iterate the same per-chunk computations, forwardChunk and
// backwardChunk.

// forwardChunk computes the log-probs of targets t ([chunk]) and, with c.entropy, the entropies,
// from hidden states h [chunk, D] and the projection w [V, D]. Results are [chunk] in c.dtype.
func (c *chunkedLogProbs) forwardChunk(h, t, w *Node) (lp, ent *Node) {
	sm := c.softmaxOf(h, w)
	logS := Reshape(sm.logS, c.chunk)
	lp = Sub(Gather(sm.d, c.chosenIndices(t)), logS) // log p of the targets
	if c.entropy {
		ent = Sub(logS, Reshape(sm.meanD(), c.chunk))
	}
	return lp, ent
}

// backwardChunk returns one chunk's ∂/∂h [chunk, D] and its contribution to ∂/∂W [V, D] for the
// adjoints adjLp and adjEnt ([chunk]; either may be nil):
//
//	G = (g·(onehot(y) − p) − gH·p·(log p + H)) / τ. With log p + H = d − μ:
//	G = g'·onehot(y) − e·(A + B·d),  A = (g' − gH'·μ)/s,  B = gH'/s,  g' = g/τ, gH' = gH/τ.
func (c *chunkedLogProbs) backwardChunk(h, t, w, adjLp, adjEnt *Node) (dh, dw *Node) {
	g := h.Graph()
	sm := c.softmaxOf(h, w)
	invTemp := closureConst(g, c.dtype, c.invTemp)
	var gScaled, coefA, coefB *Node
	if adjLp != nil {
		gScaled = Mul(adjLp, invTemp) // [chunk]
		coefA = InsertAxes(gScaled, 1)
	}
	if adjEnt != nil {
		gEnt := Mul(InsertAxes(adjEnt, 1), invTemp)
		entA := Neg(Mul(gEnt, sm.meanD()))
		if coefA == nil {
			coefA = entA
		} else {
			coefA = Add(coefA, entA)
		}
		coefB = Div(gEnt, sm.s)
	}
	coefA = Div(coefA, sm.s)
	inner := coefA
	if coefB != nil {
		inner = Add(Mul(sm.d, coefB), coefA)
	}
	grad := Neg(Mul(sm.e, inner)) // [chunk, V]
	if adjLp != nil {
		grad = ScatterSum(grad, c.chosenIndices(t), gScaled, true, true) // + g'·onehot(y)
	}
	// ∂/∂h = G·W, ∂/∂W += Gᵀ·h, in the storage dtype with c.dtype accumulation and output.
	dh = dotTo(ConvertDType(grad, w.DType()), w, 1, 0, c.dtype)
	// The ∂W product waits for ∂h: the pure-Go backend (compute v0.1.2) can deadlock when two
	// large matmuls run at once (workerspool.Saturate loses a wake-up between concurrent
	// callers). On XLA the barrier is a fused +0.
	dw = dotTo(ConvertDType(SchedulingBarrier(grad, dh), h.DType()), h, 0, 0, c.dtype)
	return dh, dw
}

// forward computes log-probs (and entropies) chunk by chunk. Outputs are [N] in c.dtype, behind
// StopGradient.
func (c *chunkedLogProbs) forward() (logProbs, entropy *Node) {
	var lp, ent *Node // [count, chunk]
	if c.unrolled {
		lp, ent = c.forwardUnrolled()
	} else {
		lp, ent = c.forwardWhile()
	}
	c.forwardDone = lp
	logProbs = StopGradient(c.unchunked(lp))
	if ent != nil {
		entropy = StopGradient(c.unchunked(ent))
	}
	return logProbs, entropy
}

// backward accumulates ∂/∂hidden and ∂/∂proj for the adjoints adjLogProbs and adjEntropy ([N];
// either may be nil, meaning zero).
func (c *chunkedLogProbs) backward(adjLogProbs, adjEntropy *Node) chunkedGrads {
	if adjLogProbs == nil && adjEntropy == nil {
		exceptions.Panicf("grpo.TokenLogProbs: internal error in %s: backward without adjoints", c)
	}
	// Start after the forward pass: the adjoints need not depend on it (a loss linear in the
	// log-probs), and both at once would double the memory and, on the pure-Go backend, run
	// large matmuls concurrently (see backwardChunk).
	hC := c.chunked(SchedulingBarrier(c.hidden, c.forwardDone))
	var adjLp, adjEnt *Node // [count, chunk]
	if adjLogProbs != nil {
		adjLp = c.chunked(ConvertDType(adjLogProbs, c.dtype))
	}
	if adjEntropy != nil {
		adjEnt = c.chunked(ConvertDType(adjEntropy, c.dtype))
	}
	var dhC, dw *Node
	if c.unrolled {
		dhC, dw = c.backwardUnrolled(hC, adjLp, adjEnt)
	} else {
		dhC, dw = c.backwardWhile(hC, adjLp, adjEnt)
	}
	return chunkedGrads{
		hidden: ConvertDType(c.unchunked(dhC), c.hidden.DType()),
		proj:   ConvertDType(dw, c.proj.DType()),
	}
}

// chunkAt returns chunk i ([chunk, ...]) of x ([count, chunk, ...]) for a static i.
func chunkAt(x *Node, i int) *Node {
	return Squeeze(Slice(x, AxisElem(i)), 0)
}

func (c *chunkedLogProbs) forwardUnrolled() (lp, ent *Node) {
	hC := c.chunked(StopGradient(c.hidden))
	tC := c.chunked(c.targets)
	w := StopGradient(c.proj)
	lps := make([]*Node, c.count)
	var ents []*Node
	for i := range c.count {
		l, e := c.forwardChunk(chunkAt(hC, i), chunkAt(tC, i), w)
		lps[i] = l
		if e != nil {
			ents = append(ents, e)
		}
	}
	lp = Stack(lps, 0)
	if ents != nil {
		ent = Stack(ents, 0)
	}
	return lp, ent
}

func (c *chunkedLogProbs) backwardUnrolled(hC, adjLp, adjEnt *Node) (dhC, dw *Node) {
	tC := c.chunked(c.targets)
	dhs := make([]*Node, c.count)
	for i := range c.count {
		var a, e *Node
		if adjLp != nil {
			a = chunkAt(adjLp, i)
		}
		if adjEnt != nil {
			e = chunkAt(adjEnt, i)
		}
		dh, dwi := c.backwardChunk(chunkAt(hC, i), chunkAt(tC, i), c.proj, a, e)
		dhs[i] = dh
		if dw == nil {
			dw = dwi
		} else {
			dw = Add(dw, dwi)
		}
	}
	return Stack(dhs, 0), dw
}

func loopIndex(g *Graph) *Node { return Parameter(g, "i", shapes.Make(dtypes.Int32)) }

func (c *chunkedLogProbs) forwardWhile() (lp, ent *Node) {
	g := c.g
	hC := c.chunked(StopGradient(c.hidden))
	tC := c.chunked(c.targets)
	w := StopGradient(c.proj)
	accShape := shapes.Make(c.dtype, c.count, c.chunk)
	state := []*Node{ScalarZero(g, dtypes.Int32), hC, tC, w, Zeros(g, accShape)}
	if c.entropy {
		state = append(state, Zeros(g, accShape))
	}
	params := func(g *Graph) []*Node {
		ps := []*Node{loopIndex(g),
			Parameter(g, "hidden", hC.Shape()), Parameter(g, "targets", tC.Shape()),
			Parameter(g, "proj", w.Shape()), Parameter(g, "logp", accShape)}
		if c.entropy {
			ps = append(ps, Parameter(g, "entropy", accShape))
		}
		return ps
	}
	cond := NewClosure(g, func(g *Graph) []*Node {
		ps := params(g)
		return []*Node{LessThan(ps[0], Const(g, int32(c.count)))}
	})
	body := NewClosure(g, func(g *Graph) []*Node {
		ps := params(g)
		i, hAll, tAll, w := ps[0], ps[1], ps[2], ps[3]
		at := Reshape(i, 1)
		l, e := c.forwardChunk(Gather(hAll, at), Gather(tAll, at), w)
		out := []*Node{Add(i, closureConst(g, dtypes.Int32, 1)), hAll, tAll, w, ScatterSum(ps[4], at, l, true, true)}
		if c.entropy {
			out = append(out, ScatterSum(ps[5], at, e, true, true))
		}
		return out
	})
	results := While(cond, body, state...)
	lp = results[4]
	if c.entropy {
		ent = results[5]
	}
	return lp, ent
}

func (c *chunkedLogProbs) backwardWhile(hC, adjLp, adjEnt *Node) (dhC, dw *Node) {
	g := c.g
	tC := c.chunked(c.targets)
	w := c.proj
	dhShape := shapes.Make(c.dtype, c.count, c.chunk, c.d)
	dwShape := shapes.Make(c.dtype, c.v, c.d)
	state := []*Node{ScalarZero(g, dtypes.Int32), hC, tC, w, Zeros(g, dhShape), Zeros(g, dwShape)}
	adjShape := shapes.Make(c.dtype, c.count, c.chunk)
	for _, a := range []*Node{adjLp, adjEnt} {
		if a != nil {
			state = append(state, a)
		}
	}
	params := func(g *Graph) []*Node {
		ps := []*Node{loopIndex(g),
			Parameter(g, "hidden", hC.Shape()), Parameter(g, "targets", tC.Shape()),
			Parameter(g, "proj", w.Shape()), Parameter(g, "d_hidden", dhShape), Parameter(g, "d_proj", dwShape)}
		if adjLp != nil {
			ps = append(ps, Parameter(g, "adj_logp", adjShape))
		}
		if adjEnt != nil {
			ps = append(ps, Parameter(g, "adj_entropy", adjShape))
		}
		return ps
	}
	cond := NewClosure(g, func(g *Graph) []*Node {
		ps := params(g)
		return []*Node{LessThan(ps[0], Const(g, int32(c.count)))}
	})
	body := NewClosure(g, func(g *Graph) []*Node {
		ps := params(g)
		i, hAll, tAll, w, dhAcc, dwAcc := ps[0], ps[1], ps[2], ps[3], ps[4], ps[5]
		at := Reshape(i, 1)
		var a, e *Node
		next := 6
		if adjLp != nil {
			a = Gather(ps[next], at)
			next++
		}
		if adjEnt != nil {
			e = Gather(ps[next], at)
		}
		dh, dwi := c.backwardChunk(Gather(hAll, at), Gather(tAll, at), w, a, e)
		out := []*Node{Add(i, closureConst(g, dtypes.Int32, 1)), hAll, tAll, w, ScatterSum(dhAcc, at, dh, true, true), Add(dwAcc, dwi)}
		return append(out, ps[6:]...)
	})
	results := While(cond, body, state...)
	return results[4], results[5]
}
