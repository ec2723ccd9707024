package local

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads better unqualified
	gm "github.com/gomlx/gomlx/ml/model"

	"github.com/grpo-dev/grpo/core/model"
)

// The sampler runs three kinds of compiled graphs on the model's Store:
//
//   - prefill [Bp,P]: the unique prompts of a batch through the KV cache, then the cache rows
//     replicated N times on the device (the N completions of a prompt share its prefill) and the
//     first token of every completion sampled;
//   - decode: up to a segment of steps [R,1] in one call, as a While loop on the device (or one
//     step per call in HostLoop mode), sampling on the device;
//   - grow: the cache and its mask padded by SegmentSteps slots between segments, so that the
//     attention of a step reads only the slots a segment can fill, not the whole completion length.
//
// Graph inputs are the sampling values (5 scalars), the row noise keys [R] and the state (see
// decodeState); prefill and decode return the state, whose Active says whether some row is not
// done.

// prefillKey are the static settings of a prefill graph (shapes give Bp and P).
type prefillKey struct {
	proc      processors
	n         int // completions per prompt
	maxTokens int // T
	extra     int // cache slots after the prompt (the first segment)
}

// decodeKey are the static settings of a decode graph (shapes give R, S, T).
type decodeKey struct {
	proc processors
	loop bool
}

// prefillGraph returns the graph function of a prefill. Inputs: sampling values, row keys [R],
// tokens, positions and mask [Bp,P] (int32), valid [Bp] (bool: false for batch-bucket padding).
func (g *Generator) prefillGraph(k prefillKey) func(*gm.Scope, []*Node) []*Node {
	return func(_ *gm.Scope, in []*Node) []*Node {
		m := g.run
		prm := samplingInputsFrom(in[:numSamplingValues])
		rowKeys := in[numSamplingValues]
		tokens, positions, mask, valid := in[numSamplingValues+1], in[numSamplingValues+2], in[numSamplingValues+3], in[numSamplingValues+4]
		gr := tokens.Graph()
		bp, p := tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1]
		r, vocab := bp*k.n, m.Config.VocabSize

		cache := make([]*Node, m.NumCacheTensors())
		for i := range cache {
			cache[i] = Zeros(gr, m.CacheShape(bp, p+k.extra))
		}
		maskS := mask
		if k.extra > 0 {
			maskS = Concatenate([]*Node{mask, Zeros(gr, shapes.Make(mask.DType(), bp, k.extra))}, 1)
		}
		hidden, written := m.ForwardCached(model.Inputs{Tokens: tokens, Positions: positions, Mask: maskS},
			Const(gr, int32(0)), model.CacheFromNodes(cache))
		// Prompts are left-padded: the last column holds every row's last prompt token.
		logits := Reshape(g.samplingLogits(Slice(hidden, AxisRange(), AxisRange(p-1, p))), bp, vocab)

		// Row i*N+j of the decode batch is completion j of prompt i.
		rows := ExpandAxes(Div(Iota(gr, shapes.Make(dtypes.Int32, r), 0), Const(gr, int32(k.n))), -1)
		rep := func(x *Node) *Node { return Gather(x, rows, true) }
		st := decodeState[*Node]{Mask: rep(maskS), WriteAt: Const(gr, int32(p))}
		for _, c := range written.Nodes() {
			st.Cache = append(st.Cache, rep(c))
		}
		if k.proc.Repetition {
			st.Seen = rep(promptSeen(tokens, mask, vocab))
		}
		st.Pos = rep(ReduceSum(ConvertDType(mask, dtypes.Int32), -1)) // next position = prompt length
		st.OutTok = BroadcastToDims(Const(gr, g.pad), r, k.maxTokens)
		st.OutLP = Zeros(gr, shapes.Make(dtypes.Float32, r, k.maxTokens))
		st.Done = LogicalNot(rep(valid))
		st.Step = Const(gr, int32(0))

		scores := processLogits(rep(logits), st.Seen, k.proc, prm)
		tok, lp := chooseTokens(scores, stepKeys(rowKeys, st.Step), k.proc.Greedy)
		st = g.record(st, tok, lp, k.maxTokens)
		return st.flatten(k.proc.Repetition)
	}
}

// promptSeen marks [Bp,V] the tokens present in each prompt (padding excluded): the prompt part
// of the repetition penalty's input_ids.
func promptSeen(tokens, mask *Node, vocab int) *Node {
	gr := tokens.Graph()
	bp, p := tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1]
	row := Iota(gr, shapes.Make(dtypes.Int32, bp, p, 1), 0)
	idx := Concatenate([]*Node{row, ExpandAxes(ConvertDType(tokens, dtypes.Int32), -1)}, -1) // [Bp,P,2]
	marks := ScatterMax(Zeros(gr, shapes.Make(dtypes.Int32, bp, vocab)), idx, ConvertDType(mask, dtypes.Int32), false, false)
	return GreaterThan(marks, Const(gr, int32(0)))
}

// record stores the tokens sampled at st.Step (pad and log-prob 0 for rows already done),
// updates Seen, Done, Active and Step, and makes them the next step's input tokens.
func (g *Generator) record(st decodeState[*Node], tok, lp *Node, maxTokens int) decodeState[*Node] {
	gr := tok.Graph()
	r := tok.Shape().Dimensions[0]
	tok = Where(st.Done, Const(gr, g.pad), tok)
	lp = Where(st.Done, Const(gr, float32(0)), lp)
	at := BroadcastToDims(Equal(Iota(gr, shapes.Make(dtypes.Int32, 1, maxTokens), 1), st.Step), r, maxTokens)
	st.OutTok = Where(at, BroadcastToDims(ExpandAxes(tok, -1), r, maxTokens), st.OutTok)
	st.OutLP = Where(at, BroadcastToDims(ExpandAxes(lp, -1), r, maxTokens), st.OutLP)
	if st.Seen != nil {
		vocab := st.Seen.Shape().Dimensions[1]
		st.Seen = LogicalOr(st.Seen, Equal(Iota(gr, shapes.Make(dtypes.Int32, 1, vocab), 1), ExpandAxes(tok, -1)))
	}
	done := LogicalOr(st.Done, GreaterOrEqual(Add(st.Step, Const(gr, int32(1))), Const(gr, int32(maxTokens))))
	if len(g.eos) > 0 && !g.opts.IgnoreEOS {
		eos := Reshape(Const(gr, g.eos), 1, len(g.eos))
		done = LogicalOr(done, ReduceLogicalOr(Equal(ExpandAxes(tok, -1), eos), -1))
	}
	st.Done, st.Tok, st.Active = done, tok, anyActive(done)
	st.Step = Add(st.Step, Const(gr, int32(1)))
	return st
}

// samplingLogits projects hidden states [B,1,D] to the logits [B,1,V] sampling starts from:
// float32 for a float32 model; otherwise the compute dtype (accumulated in float32), as
// transformers' lm_head returns them (generate samples from their float32 values, .float()).
// Half-precision logits halve the bytes of the [rows × vocabulary] tensor that the sampling
// passes read.
func (g *Generator) samplingLogits(hidden *Node) *Node {
	m := g.run
	if m.DType() == dtypes.Float32 {
		return m.Logits(hidden)
	}
	return Dot(hidden, m.OutputWeights(hidden.Graph())).Einsum("btd,vd->btv")
}

// anyActive is true while some row is not done.
func anyActive(done *Node) *Node { return ReduceLogicalOr(LogicalNot(done)) }

// decodeStep feeds every row's last token at slot WriteAt and samples the next one.
func (g *Generator) decodeStep(st decodeState[*Node], prm samplingInputs, rowKeys *Node, proc processors) decodeState[*Node] {
	m := g.run
	gr := st.Mask.Graph()
	r, slots := st.Mask.Shape().Dimensions[0], st.Mask.Shape().Dimensions[1]
	maxTokens := st.OutTok.Shape().Dimensions[1]
	at := BroadcastToDims(Equal(Iota(gr, shapes.Make(dtypes.Int32, 1, slots), 1), st.WriteAt), r, slots)
	mask := Where(at, Const(gr, int32(1)), st.Mask)
	hidden, cache := m.ForwardCached(model.Inputs{Tokens: Reshape(st.Tok, r, 1), Positions: Reshape(st.Pos, r, 1), Mask: mask},
		st.WriteAt, model.CacheFromNodes(st.Cache))
	logits := Reshape(g.samplingLogits(hidden), r, m.Config.VocabSize)
	scores := processLogits(logits, st.Seen, proc, prm)
	tok, lp := chooseTokens(scores, stepKeys(rowKeys, st.Step), proc.Greedy)
	next := g.record(st, tok, lp, maxTokens)
	next.Cache, next.Mask = cache.Nodes(), mask
	next.Pos = Add(st.Pos, Const(gr, int32(1)))
	next.WriteAt = Add(st.WriteAt, Const(gr, int32(1)))
	return next
}

// decodeGraph returns the graph function of a decode call. Inputs: sampling values, row keys
// [R], state. With k.loop the steps run in a While loop until the cache is full (WriteAt = S),
// T tokens are generated or every row is done; otherwise it is one step.
//
// The loop condition reads the state, so a segment ends as soon as every row is done. XLA's GPU
// runtime then reads the predicate back after each step; a constant trip count (which it runs
// without that round trip) measured no faster on an H200, because the body already runs as one
// CUDA graph and the step is bound by its kernels (BENCHMARKS.md, sampler_trace.sh).
//
// What the XLA backend (go-xla v0.4.1) requires of the loop program shapes it:
//
//   - The body and the condition take everything they use as loop state, including the model's
//     weights (read-only, passed through unchanged): go-xla's closures cannot use values of the
//     enclosing function. The body's weight parameters are installed as the variables' graph
//     values (Variable.SetNodeValue) while the body is built, and the originals restored
//     afterwards, so the model code reads them as usual. For the same reason nothing here may call
//     graph.Scalar outside the body (Scalar caches one node per graph, and a node cached by the
//     body used elsewhere would cross functions): the condition and main use Const.
//   - go-xla builds the reduction closure of each (dtype, reduction) once per program and ties it
//     to the function that first used it (compute/xla ops_reduce.go getReductionFn; ArgMinMax
//     and select closures alike): the same reduction in two functions fails to compile ("reductionFn
//     is not a StableHLO closure of main"). So every reduction, arg-max and scatter lives in the
//     body. The condition reads only scalars (WriteAt, Step and the Active flag the body computes
//     with Done), and main only passes the state to While and returns its result.
//
// TestDecodeLoopIsSelfContained checks both rules on the built graph.
func (g *Generator) decodeGraph(k decodeKey) func(*gm.Scope, []*Node) []*Node {
	return func(_ *gm.Scope, in []*Node) []*Node {
		nc := g.run.NumCacheTensors()
		nState := numFields(nc, k.proc.Repetition)
		fixed := in[:numSamplingValues+1] // sampling values and row keys
		stateIn := in[numSamplingValues+1:]
		if len(stateIn) != nState {
			panic(fmt.Sprintf("decode graph: %d state inputs, want %d", len(stateIn), nState))
		}
		if !k.loop {
			st := g.step(unflatten(stateIn, nc, k.proc.Repetition), samplingInputsFrom(fixed), fixed[numSamplingValues], k.proc)
			return st.flatten(k.proc.Repetition)
		}
		gr := stateIn[0].Graph()
		vars := g.run.Variables()
		init := append(append([]*Node(nil), stateIn...), fixed...)
		for _, v := range vars {
			init = append(init, v.NodeValue(gr))
		}
		params := func(gr *Graph) []*Node {
			ps := make([]*Node, len(init))
			for i, x := range init {
				ps[i] = Parameter(gr, fmt.Sprintf("loop_%d", i), x.Shape())
			}
			return ps
		}
		slots := stateIn[nc].Shape().Dimensions[1] // Mask [R,S]
		maxTokens := unflatten(stateIn, nc, k.proc.Repetition).OutTok.Shape().Dimensions[1]

		body := NewClosure(gr, func(gr *Graph) []*Node {
			ps := params(gr)
			for i, v := range vars {
				v.SetNodeValue(ps[nState+len(fixed)+i])
			}
			f := ps[nState : nState+len(fixed)]
			st := g.step(unflatten(ps[:nState], nc, k.proc.Repetition), samplingInputsFrom(f), f[numSamplingValues], k.proc)
			return append(st.flatten(k.proc.Repetition), ps[nState:]...)
		})
		for i, v := range vars {
			v.SetNodeValue(init[nState+len(fixed)+i])
		}
		cond := NewClosure(gr, func(gr *Graph) []*Node {
			st := unflatten(params(gr)[:nState], nc, k.proc.Repetition)
			room := LogicalAnd(LessThan(st.WriteAt, Const(gr, int32(slots))), LessThan(st.Step, Const(gr, int32(maxTokens))))
			return []*Node{LogicalAnd(room, st.Active)}
		})
		return While(cond, body, init...)[:nState]
	}
}

// growGraph pads the cache tensors (the first nc inputs, slots on model.CacheSlotsAxis) and the
// mask (input nc, [R,S]) with `extra` empty slots.
func growGraph(nc, extra int) func([]*Node) []*Node {
	return func(in []*Node) []*Node {
		out := make([]*Node, len(in))
		for i, x := range in {
			axis := model.CacheSlotsAxis
			if i == nc {
				axis = 1
			}
			d := x.Shape().Clone()
			d.Dimensions[axis] = extra
			out[i] = Concatenate([]*Node{x, Zeros(x.Graph(), d)}, axis)
		}
		return out
	}
}

// refreshGraph computes the policy's inference copy (see Generator.run) from its float32 master
// weights.
func refreshGraph(policy *model.Model) func(*gm.Scope, *Graph) []*Node {
	return func(_ *gm.Scope, gr *Graph) []*Node { return policy.InferenceWeights(gr) }
}
