package local

import (
	"math"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gm "github.com/gomlx/gomlx/ml/model"

	"github.com/grpo-dev/grpo/core/accel"
	"github.com/grpo-dev/grpo/core/generate"
	"github.com/grpo-dev/grpo/core/model"
)

// toyStep is a decode step without attention: logits = Logits(embedding(token) · (1 + pos/16)).
// It reads two model weights (so it exercises how the device loop hands the weights to its body),
// samples with the real processors and records with the real bookkeeping, but has no rotary
// embedding, whose broadcasts trip the Go backend's closure bug (see LoopAuto). It lets the
// device loop be tested on the Go backend against the host loop.
func toyStep(g *Generator) func(decodeState[*Node], samplingInputs, *Node, processors) decodeState[*Node] {
	return func(st decodeState[*Node], prm samplingInputs, rowKeys *Node, proc processors) decodeState[*Node] {
		m := g.run
		gr := st.Mask.Graph()
		r := st.Mask.Shape().Dimensions[0]
		emb := m.Variable("model.embed_tokens.weight").NodeValue(gr)
		x := Gather(emb, ExpandAxes(st.Tok, -1))                                                               // [R,D]
		scale := Add(Const(gr, float32(1)), Div(ConvertDType(st.Pos, dtypes.Float32), Const(gr, float32(16)))) // [R]
		x = Reshape(Mul(x, ExpandAxes(scale, -1)), r, 1, m.Config.HiddenSize)
		logits := Reshape(m.Logits(x), r, m.Config.VocabSize)
		scores := processLogits(logits, st.Seen, proc, prm)
		tok, lp := chooseTokens(scores, stepKeys(rowKeys, st.Step), proc.Greedy)
		next := g.record(st, tok, lp, st.OutTok.Shape().Dimensions[1])
		at := Equal(Iota(gr, st.Mask.Shape(), 1), st.WriteAt)
		next.Mask = Where(at, Const(gr, int32(1)), st.Mask)
		next.Pos = Add(st.Pos, Const(gr, int32(1)))
		next.WriteAt = Add(st.WriteAt, Const(gr, int32(1)))
		return next
	}
}

// TestDeviceLoopMatchesHostLoop runs the same sampled request (N = 3 completions of 3 prompts,
// repetition penalty, top-k, an EOS that stops some rows early, segments of 5 steps) with the
// device loop and with one step per call: the completions are identical, the device loop makes
// one call per segment, and the model's weights are unchanged afterwards (the loop passes them
// through as read-only state).
func TestDeviceLoopMatchesHostLoop(t *testing.T) {
	m := newTestModel(t, testConfig, dtypes.Float32, 5)
	before := tensors.MustCopyFlatData[float32](m.Variable("model.embed_tokens.weight").MustValue())
	prompts := [][]int32{randomPrompt(7, 5, 97), randomPrompt(8, 9, 97), randomPrompt(9, 2, 97)}
	req := generate.Request{Prompts: idPrompts(prompts...), N: 3, Sampling: generate.Sampling{
		Temperature: 1.3, TopP: 1, TopK: 40, RepetitionPenalty: 1.3, MaxTokens: 17, Seed: 99}}
	run := func(loop LoopMode, eos []int32) ([]generate.Completion, Stats) {
		g := newGenerator(t, m, Options{Loop: loop, SegmentSteps: 5, EOS: eos})
		g.step = toyStep(g)
		return mustGenerate(t, g, req), g.LastStats()
	}
	// Pick as EOS a token the host loop samples in the middle of some completion.
	probe, _ := run(HostLoop, []int32{})
	eos := probe[1].IDs[6]
	host, hostStats := run(HostLoop, []int32{eos})
	dev, devStats := run(DeviceLoop, []int32{eos})
	stopped := 0
	for i := range host {
		h, d := host[i], dev[i]
		if !slices.Equal(h.IDs, d.IDs) || !slices.Equal(h.LogProbs, d.LogProbs) || h.FinishReason != d.FinishReason {
			t.Fatalf("completion %d: host loop %s %v, device loop %s %v", i, describe(h), h.LogProbs, describe(d), d.LogProbs)
		}
		if h.FinishReason == generate.FinishStop {
			stopped++
			if h.IDs[len(h.IDs)-1] != eos || slices.Contains(h.IDs[:len(h.IDs)-1], eos) {
				t.Fatalf("completion %d stops with %v but EOS is %d", i, h.IDs, eos)
			}
		} else if len(h.IDs) != 17 {
			t.Fatalf("completion %d: %d tokens and reason %s", i, len(h.IDs), h.FinishReason)
		}
		for _, lp := range h.LogProbs {
			if !(lp <= 0) || math.IsInf(float64(lp), 0) {
				t.Fatalf("completion %d: log-prob %v", i, lp)
			}
		}
	}
	if stopped == 0 || stopped == len(host) {
		t.Fatalf("%d of %d completions stopped at EOS; the test needs some of each", stopped, len(host))
	}
	if devStats.HostLoop || !hostStats.HostLoop || devStats.DeviceCalls >= hostStats.DeviceCalls {
		t.Fatalf("device loop stats %+v, host loop stats %+v", devStats, hostStats)
	}
	after := tensors.MustCopyFlatData[float32](m.Variable("model.embed_tokens.weight").MustValue())
	if !slices.Equal(before, after) {
		t.Fatal("generation changed the model's weights")
	}
}

// TestDecodeLoopIsSelfContained builds the real decode loop (the full model step) for each kind
// of sampler graph and checks what the XLA backend requires of a While (see decodeGraph): no node
// inside the body or the condition takes an input from another function (go-xla's closures
// cannot use values of the enclosing function, and graph.Scalar's per-graph cache could hand one
// over), and every reduction, arg-max and scatter of a given go-xla closure key lives in one
// function (xlaClosureProblems). The first run of the loop on an H100 failed on the second rule.
// The graphs are built with the 15-way top-k/top-p searches XLA uses. The Go backend cannot run
// this loop (see LoopAuto), so the graph is only built and compiled.
func TestDecodeLoopIsSelfContained(t *testing.T) {
	forceSearchWays = 15
	defer func() { forceSearchWays = 0 }()
	m := newTestModel(t, testConfig, dtypes.BFloat16, 5)
	g := newGenerator(t, m, Options{})
	if err := g.refreshShadow(); err != nil { // creates the bfloat16 copy the graph reads
		t.Fatal(err)
	}
	for _, proc := range []processors{{}, {Greedy: true}, {Greedy: true, Repetition: true},
		{Repetition: true, TopK: true, TopP: true, MinP: true}} {
		t.Run(proc.String(), func(t *testing.T) {
			build := g.decodeGraph(decodeKey{proc: proc, loop: true})
			var whiles, closureNodes, keyed int
			var problems []string
			exec, err := gm.NewExec(g.backend, g.run.Store, func(s *gm.Scope, in []*Node) []*Node {
				out := build(s, in)
				nodes := out[0].Graph().Nodes()
				for _, n := range nodes {
					if n.Type() == NodeTypeWhile {
						whiles++
						continue
					}
					if n.Function().IsClosure() {
						closureNodes++
					}
					for i, x := range n.Inputs() {
						if x.Function() != n.Function() {
							t.Errorf("node %s in %q takes input %d (%s) from %q", n.Type(), n.Function().Path(), i, x.Type(), x.Function().Path())
						}
					}
				}
				problems, keyed = xlaClosureProblems(nodes)
				return out
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := exec.Compile(decodeArgShapes(m, proc, 2, 40, 8)...); err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Error(p)
			}
			// The step's model and sampler reductions (norms, softmaxes, arg-max, Active) must
			// have been seen, or the check above checked nothing.
			if whiles != 1 || closureNodes < 100 || keyed < 2*m.Config.NumHiddenLayers+3 {
				t.Fatalf("%d While nodes, %d nodes in closures, %d nodes with closure keys: the loop was not built", whiles, closureNodes, keyed)
			}
		})
	}
}

// decodeArgShapes are the input shapes of a decode graph: sampling values, row keys, state.
func decodeArgShapes(m *model.Model, proc processors, rows, slots, maxTokens int) []shapes.Shape {
	args := argShapes(append(samplingValues(baseSampling()), make([]uint32, rows)), nil)
	st := decodeState[shapes.Shape]{
		Mask: shapes.Make(dtypes.Int32, rows, slots), Tok: shapes.Make(dtypes.Int32, rows), Pos: shapes.Make(dtypes.Int32, rows),
		Done: shapes.Make(dtypes.Bool, rows), OutTok: shapes.Make(dtypes.Int32, rows, maxTokens),
		OutLP: shapes.Make(dtypes.Float32, rows, maxTokens), WriteAt: shapes.Make(dtypes.Int32), Step: shapes.Make(dtypes.Int32),
		Active: shapes.Make(dtypes.Bool), Seen: shapes.Make(dtypes.Bool, rows, m.Config.VocabSize)}
	for range m.NumCacheTensors() {
		st.Cache = append(st.Cache, m.CacheShape(rows, slots))
	}
	return append(args, st.flatten(proc.Repetition)...)
}

// TestClosureRulesCatchConflicts: the checker of the XLA closure rules finds a reduction of one
// key in main and in a While body (the failure seen on the H100) and accepts a reduction of
// another dtype in main. (A Sort inside a closure the Go backend refuses by itself.)
func TestClosureRulesCatchConflicts(t *testing.T) {
	backend := accel.MustShared()
	check := func(name string, mainDType dtypes.DType, want int) {
		t.Run(name, func(t *testing.T) {
			var problems []string
			exec := MustNewExec(backend, func(x *Node) *Node {
				gr := x.Graph()
				body := NewClosure(gr, func(gr *Graph) []*Node {
					p := Parameter(gr, "x", x.Shape())
					return []*Node{Add(p, ReduceAndKeep(p, ReduceSum, -1))}
				})
				cond := NewClosure(gr, func(gr *Graph) []*Node {
					Parameter(gr, "x", x.Shape())
					return []*Node{Const(gr, false)}
				})
				y := While(cond, body, x)[0]
				out := ReduceSum(ConvertDType(y, mainDType))
				problems, _ = xlaClosureProblems(gr.Nodes())
				return out
			})
			if _, err := exec.Compile(shapes.Make(dtypes.Float32, 2, 3)); err != nil {
				t.Fatal(err)
			}
			if len(problems) != want {
				t.Fatalf("%d problems, want %d: %v", len(problems), want, problems)
			}
		})
	}
	check("same key in main and body", dtypes.Float32, 1)
	check("other dtype in main", dtypes.Float64, 0)
}
