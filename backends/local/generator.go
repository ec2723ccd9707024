// Package local is grpo's in-process generation backend: a batched sampler on GoMLX that
// decodes with a preallocated KV cache on the same device, and from the same weights, as the
// policy being trained. It implements generate.Generator.
//
// A request's prompts are tokenised, truncated from the left to max_prompt_length, sorted by
// length and cut into device batches of at most Options.MaxBatch completion rows. Each batch's
// unique prompts are left-padded to a prompt bucket and prefilled once; their cache rows are
// then replicated N times on the device, so the N completions of a prompt share one prefill.
// Decoding runs in segments of Options.SegmentSteps steps: one device call per segment, a While
// loop on the device that samples each token there (transformers' logits processors in HF order,
// then Gumbel-max, see processLogits), stops a row at any EOS id or max tokens, and stops the
// loop when every row is done. Between segments the cache grows by a segment's worth of slots,
// so each step's attention reads only the slots in use. The host sees only a few scalars per
// segment and the tokens at the end. Inside the loop XLA updates the KV cache in place (loop
// state); one step per call (HostLoop) returns a new cache every step, which XLA must copy
// whole, since go-xla declares no input/output aliasing.
//
// What a decode step reads: in half precision the graphs run on the policy's inference copy
// (model.Inference: weights in the compute dtype, q/k/v and gate/up stacked into one product
// each), refreshed at every Generate; attention reads the cache in the compute dtype
// (model.ForwardCached); the logits stay in the compute dtype, as transformers' lm_head returns
// them, and the sampling passes read them as float32 values.
//
// Reproducibility: the noise of completion j of prompt i at step t depends only on (Seed, i, j,
// t) (see noise.go), so a request gives the same completions for the same seed however it is
// batched — bit for bit on the Go backend; on XLA the logits of a row may differ in the last
// bits between batch shapes (different kernels), which can flip a near-tie draw.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gm "github.com/gomlx/gomlx/ml/model"

	"github.com/grpo-dev/grpo/core/generate"
	"github.com/grpo-dev/grpo/core/model"
	"github.com/grpo-dev/grpo/core/tokenizer"
)

// LoopMode says how decode steps are driven.
type LoopMode int

const (
	// LoopAuto uses DeviceLoop, and falls back to HostLoop (with a warning) if the backend fails
	// to compile the loop. On GoMLX's Go backend it uses HostLoop: its closures (compute v0.1.2)
	// are compiled before its ImplicitBroadcastFusion pass rewrites their nodes, so a loop body in
	// which an explicit broadcast feeds an arithmetic op (the rotary embedding has such ops)
	// frees a buffer too early and fails with "input 1 for node Mul not computed yet".
	LoopAuto LoopMode = iota
	// DeviceLoop runs a segment of steps per device call, in a While loop.
	DeviceLoop
	// HostLoop runs one step per device call.
	HostLoop
)

// Options configure a Generator. The zero value is usable.
type Options struct {
	// MaxBatch caps the completion rows decoded together (prompts × N); default 256. A batch
	// always holds at least one prompt's N completions.
	MaxBatch int
	// PromptBuckets are the padded prompt lengths, ascending; nil means 16, 32, 64 and then every
	// multiple of 64.
	PromptBuckets []int
	// SegmentSteps is the number of decode steps per device call and the number of cache slots
	// added at a time; default 128. Longer segments cost fewer segment boundaries (reading the
	// scalars, growing the cache, starting the next call: milliseconds each on a GPU), shorter
	// ones let attention skip more empty slots. Measured on an H200 (BENCHMARKS.md, Qwen2-0.5B,
	// 64 + 256 tokens), 128 beat 64 by 11% at batch 64 and 1–2% at batch 256; 32 and 256 were
	// slower.
	SegmentSteps int
	// Loop picks how decode steps are driven (default LoopAuto).
	Loop LoopMode
	// EOS are the stop ids; nil means the tokenizer's EOS ids plus the eos_token_id of the
	// model's generation_config.json and config.json.
	EOS []int32
	// PadID fills padding and the tokens after a row stops; nil means the tokenizer's pad id,
	// else the config's pad_token_id, else the first EOS id, else 0.
	PadID *int32
	// IgnoreEOS generates exactly max tokens per completion (benchmarks).
	IgnoreEOS bool
	// AddSpecialTokens is add_special_tokens when tokenising text prompts (TRL uses false).
	AddSpecialTokens bool
	// Progress, if set, is called after the prefill and after every segment of every batch.
	Progress func(Progress)
}

// Progress reports where a Generate call is.
type Progress struct {
	Batch, Batches     int // current batch (0-based) and number of batches
	Step, MaxSteps     int // tokens generated in this batch so far, and the most it can take
	Completions, Total int // completions finished (whole batches) and requested
}

// Stats describe the last Generate call (for benchmarks).
type Stats struct {
	Batches int
	Rows    int           // decode rows, padding rows included
	Steps   int           // decode steps run (each advances every row by one token)
	Tokens  int           // tokens in the returned completions
	Prefill time.Duration // prefill calls (compilation included on first use)
	Decode  time.Duration // decode and grow calls, until the last segment's scalars are read
	// DecodeCalls is the part of Decode spent inside the decode and grow device calls (dispatch;
	// on XLA a While loop mostly runs inside its call), DecodeReads the part spent reading each
	// segment's Step and Active scalars (waiting for the device); the rest is host work.
	DecodeCalls, DecodeReads time.Duration
	CacheSlots               int // KV-cache slots of the last batch's last segment
	DeviceCalls              int
	HostLoop                 bool // decoded one step per device call (Options.Loop, or the loop failed to compile)
}

// Generator is the local sampler. Generate calls are serialised.
type Generator struct {
	policy *model.Model
	// run is the model the graphs read: the policy itself in float32, else the policy's
	// inference copy (model.Inference: weights in the compute dtype, q/k/v and gate/up stacked),
	// refreshed from the policy's masters at every Generate: decode reads half the bytes per step
	// in fewer products, and a weight update of the policy is always seen by the next Generate.
	run     *model.Model
	tok     *tokenizer.Tokenizer
	opts    Options
	eos     []int32
	pad     int32
	backend compute.Backend

	mu      sync.Mutex
	prefill map[prefillKey]*gm.Exec
	decode  map[decodeKey]*gm.Exec
	grow    *graph.Exec
	refresh *gm.Exec
	stats   Stats
	// loopBroken is set when the device loop failed to compile (LoopAuto then uses HostLoop).
	loopBroken bool
	// step builds one decode step (decodeStep; tests substitute a smaller one).
	step func(st decodeState[*graph.Node], prm samplingInputs, rowKeys *graph.Node, proc processors) decodeState[*graph.Node]
}

var _ generate.Generator = (*Generator)(nil)

// New creates a sampler for the policy m. tok may be nil when prompts come as token ids (then
// Completion.Text is empty).
func New(m *model.Model, tok *tokenizer.Tokenizer, opts Options) (*Generator, error) {
	if m == nil {
		return nil, errors.New("local generator: nil model")
	}
	if opts.MaxBatch == 0 {
		opts.MaxBatch = 256
	}
	if opts.SegmentSteps == 0 {
		opts.SegmentSteps = 128
	}
	if opts.MaxBatch < 1 || opts.SegmentSteps < 1 {
		return nil, fmt.Errorf("local generator: MaxBatch (%d) and SegmentSteps (%d) must be ≥ 1", opts.MaxBatch, opts.SegmentSteps)
	}
	if !slices.IsSorted(opts.PromptBuckets) || (len(opts.PromptBuckets) > 0 && opts.PromptBuckets[0] < 1) {
		return nil, fmt.Errorf("local generator: prompt buckets %v must be ascending and ≥ 1", opts.PromptBuckets)
	}
	g := &Generator{policy: m, run: m, tok: tok, opts: opts, backend: m.Backend(),
		prefill: map[prefillKey]*gm.Exec{}, decode: map[decodeKey]*gm.Exec{}}
	g.step = g.decodeStep
	g.eos, g.pad = stopIDs(m, tok, opts)
	if m.DType() != dtypes.Float32 {
		if err := g.makeShadow(); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// stopIDs resolves the EOS ids and the pad id (see Options).
func stopIDs(m *model.Model, tok *tokenizer.Tokenizer, opts Options) ([]int32, int32) {
	eos := opts.EOS
	if eos == nil {
		add := func(ids ...int) {
			for _, id := range ids {
				if !slices.Contains(eos, int32(id)) {
					eos = append(eos, int32(id))
				}
			}
		}
		if tok != nil {
			for _, id := range tok.EOS() {
				add(int(id))
			}
		}
		if m.Generation != nil {
			add(m.Generation.EOSTokenIDs...)
		}
		add(m.Config.EOSTokenIDs...)
	}
	switch {
	case opts.PadID != nil:
		return eos, *opts.PadID
	case tok != nil && tok.PadID() >= 0:
		return eos, tok.PadID()
	case m.Config.PadTokenID != nil:
		return eos, int32(*m.Config.PadTokenID)
	case len(eos) > 0:
		return eos, eos[0]
	}
	return eos, 0
}

// makeShadow prepares the sampler's copy of the weights: the policy's inference copy
// (model.Inference: the compute dtype, q/k/v and gate/up stacked), so that model code runs
// unchanged on weights that need no cast and take two products per layer instead of five. Its
// variables are created by the first refresh, directly from the device tensors the refresh
// computes (no host copy).
func (g *Generator) makeShadow() error {
	g.run = g.policy.Inference()
	refresh, err := gm.NewExec(g.backend, g.policy.Store, refreshGraph(g.policy))
	if err != nil {
		return err
	}
	g.refresh = refresh
	return nil
}

// refreshShadow recomputes the inference copy from the policy's current weights (on the device).
func (g *Generator) refreshShadow() error {
	if g.refresh == nil {
		return nil
	}
	out, err := g.refresh.Call()
	if err != nil {
		return fmt.Errorf("local generator: casting the policy weights to %s: %w", g.policy.DType(), err)
	}
	if err := g.run.SetWeights(out); err != nil {
		return fmt.Errorf("local generator: the sampler's copy of the weights: %w", err)
	}
	return nil
}

// SyncWeights has nothing to do: every Generate reads the policy's current weights.
func (g *Generator) SyncWeights(context.Context, generate.WeightSource) error { return nil }

// Close releases the compiled graphs and the shadow weights.
func (g *Generator) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, e := range g.prefill {
		e.Finalize()
	}
	for _, e := range g.decode {
		e.Finalize()
	}
	if g.grow != nil {
		g.grow.Finalize()
	}
	if g.refresh != nil {
		g.refresh.Finalize()
		g.run.Store.Finalize()
	}
	g.prefill, g.decode, g.grow, g.refresh = map[prefillKey]*gm.Exec{}, map[decodeKey]*gm.Exec{}, nil, nil
	return nil
}

// LastStats describes the last Generate call.
func (g *Generator) LastStats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stats
}

// EOS returns the stop ids in use.
func (g *Generator) EOS() []int32 { return slices.Clone(g.eos) }

// maxCachedShapes bounds the compiled shapes kept per graph kind (prompt buckets × batch
// buckets × cache sizes).
const maxCachedShapes = 256

func (g *Generator) prefillExec(k prefillKey) (*gm.Exec, error) {
	if e := g.prefill[k]; e != nil {
		return e, nil
	}
	e, err := gm.NewExec(g.backend, g.run.Store, g.prefillGraph(k))
	if err != nil {
		return nil, err
	}
	e.SetMaxCache(maxCachedShapes)
	g.prefill[k] = e
	return e, nil
}

func (g *Generator) decodeExec(k decodeKey) (*gm.Exec, error) {
	if e := g.decode[k]; e != nil {
		return e, nil
	}
	e, err := gm.NewExec(g.backend, g.run.Store, g.decodeGraph(k))
	if err != nil {
		return nil, err
	}
	e.SetMaxCache(maxCachedShapes)
	g.decode[k] = e
	return e, nil
}

func (g *Generator) growExec() (*graph.Exec, error) {
	if g.grow == nil {
		e, err := graph.NewExec(g.backend, growGraph(g.run.NumCacheTensors(), g.opts.SegmentSteps))
		if err != nil {
			return nil, err
		}
		e.SetMaxCache(maxCachedShapes)
		g.grow = e
	}
	return g.grow, nil
}

// donated wraps state tensors so that the call may reuse their device buffers.
func (g *Generator) donated(ts []*tensors.Tensor) ([]any, error) {
	out := make([]any, len(ts))
	for i, t := range ts {
		d, err := graph.DonateTensorBuffer(t, g.backend, 0)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// logLoopFallback is logged once per Generator when the device loop cannot be compiled.
func logLoopFallback(err error) {
	slog.Warn("local generator: the decode loop failed to compile on this backend; decoding one step per device call instead (slower)", "error", err)
}
