package local

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gomlx/compute/gobackend"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	gm "github.com/gomlx/gomlx/ml/model"

	"github.com/grpo-dev/grpo/core/generate"
)

// Generate samples req.N completions of every prompt; the result is prompt-major (completion j
// of prompt i at index i·N+j).
func (g *Generator) Generate(ctx context.Context, req generate.Request) ([]generate.Completion, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if req.N < 1 {
		return nil, fmt.Errorf("local generator: N (num_generations) is %d; it must be ≥ 1", req.N)
	}
	if err := checkSampling(req.Sampling); err != nil {
		return nil, fmt.Errorf("local generator: %w", err)
	}
	if req.MaxPromptTokens < 0 {
		return nil, fmt.Errorf("local generator: max prompt tokens %d must be ≥ 0 (0: no limit)", req.MaxPromptTokens)
	}
	if len(req.Prompts) == 0 {
		return nil, nil
	}
	prompts, err := g.promptIDs(req.Prompts, req.MaxPromptTokens)
	if err != nil {
		return nil, fmt.Errorf("local generator: %w", err)
	}
	lengths := make([]int, len(prompts))
	for i, p := range prompts {
		lengths[i] = len(p)
	}
	plans, err := planBatches(lengths, req.N, g.opts.MaxBatch, g.opts.PromptBuckets)
	if err != nil {
		return nil, fmt.Errorf("local generator: %w", err)
	}
	if err := g.refreshShadow(); err != nil {
		return nil, err
	}
	g.stats = Stats{Batches: len(plans)}
	out := make([]generate.Completion, len(prompts)*req.N)
	done := 0
	for bi, plan := range plans {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		report := func(step int) {
			if g.opts.Progress != nil {
				g.opts.Progress(Progress{Batch: bi, Batches: len(plans), Step: step, MaxSteps: req.Sampling.MaxTokens, Completions: done, Total: len(out)})
			}
		}
		if err := g.runBatch(ctx, plan, prompts, req, out, report); err != nil {
			return nil, fmt.Errorf("local generator: batch %d of %d (%d prompts, padded to %d tokens): %w", bi+1, len(plans), len(plan.prompts), plan.length, err)
		}
		done += len(plan.prompts) * req.N
		report(req.Sampling.MaxTokens)
	}
	return out, nil
}

// runBatch prefills and decodes one batch and writes its completions into out.
func (g *Generator) runBatch(ctx context.Context, plan batchPlan, prompts [][]int32, req generate.Request, out []generate.Completion, report func(step int)) error {
	n, maxTokens, seg := req.N, req.Sampling.MaxTokens, g.opts.SegmentSteps
	proc := processorsFor(req.Sampling)
	rows := plan.rows * n
	batchPrompts := make([][]int32, len(plan.prompts))
	for i, pi := range plan.prompts {
		batchPrompts[i] = prompts[pi]
	}
	tokens, positions, mask, valid := leftPad(batchPrompts, plan.rows, plan.length, g.pad)
	keys := make([]uint32, rows)
	for i, pi := range plan.prompts {
		for j := range n {
			keys[i*n+j] = rowKey(req.Sampling.Seed, pi, j)
		}
	}
	// The sampling values and row keys are the same for every call of the batch: as tensors they
	// are uploaded once (on first use) and stay on the device, instead of once per call.
	var fixed []any
	var fixedTensors []*tensors.Tensor
	for _, x := range append(samplingValues(req.Sampling), keys) {
		t := tensors.MustFromAnyValue(x)
		fixed, fixedTensors = append(fixed, t), append(fixedTensors, t)
	}
	defer release(fixedTensors)

	// Prefill: the cache gets room for the first segment (T−1 decode steps at most).
	extra := min(seg, maxTokens-1)
	pre, err := g.prefillExec(prefillKey{proc: proc, n: n, maxTokens: maxTokens, extra: extra})
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := pre.Call(append(slices.Clone(fixed), tokens, positions, mask, valid)...)
	if err != nil {
		return fmt.Errorf("prefill: %w", err)
	}
	g.stats.DeviceCalls++
	nc, withSeen := g.run.NumCacheTensors(), proc.Repetition
	state := res
	step, slots := 1, plan.length+extra
	act, err := scalarOf[bool](unflatten(state, nc, withSeen).Active)
	if err != nil {
		return err
	}
	g.stats.Prefill += time.Since(start)
	g.stats.Rows += rows
	report(step)

	start = time.Now()
	for act && step < maxTokens {
		if err := ctx.Err(); err != nil {
			release(state)
			return err
		}
		if writeAt := plan.length + step - 1; writeAt >= slots {
			grow, err := g.growExec()
			if err != nil {
				return err
			}
			args, err := g.donated(state[:nc+1])
			if err != nil {
				return err
			}
			t0 := time.Now()
			grown, err := grow.Call(args...)
			g.stats.DecodeCalls += time.Since(t0)
			if err != nil {
				return fmt.Errorf("growing the KV cache to %d slots: %w", slots+seg, err)
			}
			g.stats.DeviceCalls++
			copy(state, grown)
			slots += seg
		}
		before := step
		state, act, step, err = g.decodeSegment(proc, fixed, state, plan.length, slots, maxTokens, step)
		if err != nil {
			return fmt.Errorf("decoding at step %d (cache of %d slots): %w", step, slots, err)
		}
		g.stats.Steps += step - before
		report(step)
	}
	g.stats.Decode += time.Since(start)
	g.stats.CacheSlots = slots

	final := unflatten(state, nc, withSeen)
	outTok, err := tensors.CopyFlatData[int32](final.OutTok)
	if err != nil {
		return err
	}
	outLP, err := tensors.CopyFlatData[float32](final.OutLP)
	if err != nil {
		return err
	}
	release(state)
	stop := func(t int32) bool { return !g.opts.IgnoreEOS && slices.Contains(g.eos, t) }
	for i, pi := range plan.prompts {
		for j := range n {
			r := i*n + j
			ids, lps, reason := completionOf(outTok[r*maxTokens:(r+1)*maxTokens], outLP[r*maxTokens:(r+1)*maxTokens], stop)
			c := generate.Completion{Prompt: pi, PromptIDs: slices.Clone(prompts[pi]), IDs: ids, LogProbs: lps, FinishReason: reason}
			if g.tok != nil {
				c.Text = g.tok.Decode(ids, true)
			}
			g.stats.Tokens += len(ids)
			out[pi*n+j] = c
		}
	}
	return nil
}

// decodeSegment runs decode steps until the cache is full, T tokens are generated or every row
// is done: one device call with the device loop, else one call per step. It returns the new
// state, whether a row is still active and the step reached.
func (g *Generator) decodeSegment(proc processors, fixed []any, state []*tensors.Tensor, promptLen, slots, maxTokens, step int) ([]*tensors.Tensor, bool, int, error) {
	nc := g.run.NumCacheTensors()
	useLoop := g.opts.Loop == DeviceLoop || (g.opts.Loop == LoopAuto && !g.loopBroken && g.backend.String() != gobackend.BackendName)
	if useLoop {
		exec, err := g.decodeExec(decodeKey{proc: proc, loop: true})
		if err != nil {
			return nil, false, step, err
		}
		// Compile before donating the state, so that LoopAuto can fall back with the state intact.
		if _, err := exec.Compile(argShapes(fixed, state)...); err != nil {
			if g.opts.Loop == DeviceLoop {
				return nil, false, step, fmt.Errorf("compiling the decode loop: %w", err)
			}
			logLoopFallback(err)
			g.loopBroken, useLoop = true, false
		}
	}
	if useLoop {
		res, err := g.decodeCall(g.decode[decodeKey{proc: proc, loop: true}], fixed, state)
		if err != nil {
			return nil, false, step, err
		}
		t0 := time.Now()
		defer func() { g.stats.DecodeReads += time.Since(t0) }()
		st := unflatten(res, nc, proc.Repetition)
		s, err := scalarOf[int32](st.Step)
		if err != nil {
			return nil, false, step, err
		}
		act, err := scalarOf[bool](st.Active)
		return res, act, int(s), err
	}
	g.stats.HostLoop = true
	exec, err := g.decodeExec(decodeKey{proc: proc, loop: false})
	if err != nil {
		return nil, false, step, err
	}
	for writeAt := promptLen + step - 1; writeAt < slots && step < maxTokens; writeAt++ {
		res, err := g.decodeCall(exec, fixed, state)
		if err != nil {
			return nil, false, step, err
		}
		state = res
		step++
	}
	t0 := time.Now()
	act, err := scalarOf[bool](unflatten(state, nc, proc.Repetition).Active)
	g.stats.DecodeReads += time.Since(t0)
	return state, act, step, err
}

// argShapes are the shapes of a decode call's arguments.
func argShapes(fixed []any, state []*tensors.Tensor) []shapes.Shape {
	out := make([]shapes.Shape, 0, len(fixed)+len(state))
	for _, x := range fixed {
		if t, ok := x.(*tensors.Tensor); ok {
			out = append(out, t.Shape())
		} else {
			out = append(out, tensors.MustFromAnyValue(x).Shape())
		}
	}
	for _, t := range state {
		out = append(out, t.Shape())
	}
	return out
}

// scalarOf reads a scalar tensor (a device-to-host transfer of one value).
func scalarOf[T bool | int32](t *tensors.Tensor) (T, error) {
	v, err := tensors.CopyFlatData[T](t)
	if err != nil || len(v) != 1 {
		var zero T
		return zero, fmt.Errorf("reading a scalar output: %v (%d values)", err, len(v))
	}
	return v[0], nil
}

// decodeCall runs a decode executable (the device loop or one step) on the fixed inputs and the
// donated decode state, and counts the call and its time in the generator's stats.
func (g *Generator) decodeCall(exec *gm.Exec, fixed []any, state []*tensors.Tensor) ([]*tensors.Tensor, error) {
	args, err := g.donated(state)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	res, err := exec.Call(append(slices.Clone(fixed), args...)...)
	g.stats.DecodeCalls += time.Since(t0)
	if err != nil {
		return nil, err
	}
	g.stats.DeviceCalls++
	return res, nil
}
