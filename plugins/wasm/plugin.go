package wasm

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/grpo-dev/grpo/core/reward"
	"github.com/grpo-dev/grpo/core/template"
	"github.com/grpo-dev/grpo/plugins/internal/batch"
	"github.com/grpo-dev/grpo/sdk/wire"
)

// plugin is an opened module: what it says about itself and the pool of workers that run it.
type plugin struct {
	path   string
	opts   Options
	info   openInfo
	pool   *pool
	closer func()
	once   sync.Once
}

// openInfo is what the host learns about a plugin at open (sent back by a sandbox child too).
type openInfo struct {
	Describe  wire.Describe `json:"describe"`
	Described bool          `json:"described"` // the plugin exports grpo_describe
	ABI       string        `json:"abi"`       // "grpo-wasm" or "extism"
	Reward    bool          `json:"reward"`    // it can score batches
	Render    bool          `json:"render"`    // it can render templates
}

func open(ctx context.Context, path string, opts Options) (*plugin, error) {
	opts = opts.withDefaults()
	p := &plugin{path: path, opts: opts}
	switch opts.Sandbox {
	case SandboxInProcess:
		m, err := compile(ctx, path, opts)
		if err != nil {
			return nil, err
		}
		in, info, err := m.firstInstance(ctx)
		if err != nil {
			_ = m.close(ctx)
			return nil, err
		}
		p.info = info
		p.pool = newPool(opts.Workers, func(ctx context.Context) (worker, error) { return m.newInstance(ctx) })
		p.pool.seed(in)
		p.closer = func() { p.pool.close(); _ = m.close(context.Background()) }
	case SandboxProcess:
		c, err := startChild(ctx, path, opts)
		if err != nil {
			return nil, err
		}
		p.info = c.info
		p.pool = newPool(opts.Workers, func(ctx context.Context) (worker, error) { return startChild(ctx, path, opts) })
		p.pool.seed(c)
		p.closer = p.pool.close
	default:
		return nil, pluginErr(path, "open", ErrInstantiate, nil, "unknown sandbox %q (want %q or %q)", opts.Sandbox, SandboxInProcess, SandboxProcess)
	}
	return p, nil
}

// firstInstance makes the first instance and asks the plugin what it is.
func (m *module) firstInstance(ctx context.Context) (*instance, openInfo, error) {
	in, err := m.newInstance(ctx)
	if err != nil {
		return nil, openInfo{}, err
	}
	info := openInfo{ABI: m.abi.String()}
	if m.abi == abiExtism {
		info.Reward = in.mod.ExportedFunction(extismRewardFn) != nil
		info.Render = in.mod.ExportedFunction(extismRenderFn) != nil
	} else {
		info.Reward, info.Render = in.reward != nil, in.render != nil
		d, ok, err := in.describeSelf(ctx)
		if err != nil {
			in.close()
			return nil, info, err
		}
		info.Describe, info.Described = d, ok
		if ok && d.Kind != "" { // an SDK may export both functions; the plugin's kind decides
			info.Reward = info.Reward && d.Kind == wire.KindReward
			info.Render = info.Render && d.Kind == wire.KindTemplate
		}
	}
	if info.Describe.Name == "" {
		info.Describe.Name = strings.TrimSuffix(filepath.Base(m.path), filepath.Ext(m.path))
	}
	if info.Describe.Kind == "" {
		info.Describe.Kind = wire.KindReward
		if info.Render && !info.Reward {
			info.Describe.Kind = wire.KindTemplate
		}
	}
	return in, info, nil
}

func (p *plugin) close() error {
	p.once.Do(p.closer)
	return nil
}

// checkKind refuses a plugin opened as the wrong kind.
func (p *plugin) checkKind(kind string) error {
	can := p.info.Reward
	if kind == wire.KindTemplate {
		can = p.info.Render
	}
	if !can || (p.info.Described && p.info.Describe.Kind != kind) {
		_ = p.close()
		return pluginErr(p.path, "open", ErrWrongKind, nil, "opened as a %s plugin, but it is a %s plugin", kind, p.info.Describe.Kind)
	}
	return nil
}

// Reward is a WASM reward plugin; it implements core/reward.Reward.
type Reward struct{ p *plugin }

var _ reward.Reward = (*Reward)(nil)

// OpenReward compiles and starts the reward plugin at path (a .wasm file).
func OpenReward(ctx context.Context, path string, opts Options) (*Reward, error) {
	p, err := open(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	if err := p.checkKind(wire.KindReward); err != nil {
		return nil, err
	}
	return &Reward{p}, nil
}

// Name is the plugin's describe name, or the file name without .wasm.
func (r *Reward) Name() string { return r.p.info.Describe.Name }

// Describe returns what the plugin says about itself (filled in from the file name if it has
// no grpo_describe export).
func (r *Reward) Describe() wire.Describe { return r.p.info.Describe }

// Close releases the instances (or child processes).
func (r *Reward) Close() error { return r.p.close() }

// Score splits the samples into chunks of Options.ChunkSize items at fixed boundaries, scores
// the chunks in parallel on the instance pool (one guest call per chunk) and validates every
// result. The first failure (in chunk order) is returned; no partial scores.
func (r *Reward) Score(ctx context.Context, seed int64, samples []reward.Sample) (reward.Scores, error) {
	n := len(samples)
	if n == 0 {
		return reward.Scores{Values: []float64{}}, nil
	}
	spans := batch.Split(n, r.p.opts.ChunkSize)
	items := batch.Items(samples)
	results := make([]wire.Result, len(spans))
	errs := make([]error, len(spans))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for k, sp := range spans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[k], errs[k] = r.scoreSpan(ctx, seed, sp, items[sp.Start:sp.End])
			if errs[k] != nil {
				cancel() // the batch fails anyway: stop the other chunks early
			}
		}()
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		return reward.Scores{}, err
	}
	return batch.Merge(n, spans, results), nil
}

func (r *Reward) scoreSpan(ctx context.Context, seed int64, sp batch.Span, items []wire.Item) (wire.Result, error) {
	var res wire.Result
	in, err := batch.Marshal(wire.Batch{ABI: wire.ABIVersion, Seed: seed, Offset: sp.Start, Items: items})
	if err != nil {
		return res, pluginErr(r.p.path, "reward", ErrBadOutput, err, "items %d..%d cannot be encoded as JSON", sp.Start, sp.End-1)
	}
	out, err := r.p.pool.do(ctx, "reward", in, seed, sp.Start)
	if err != nil {
		return res, err
	}
	if err := decodeObject(out, &res); err != nil {
		return res, pluginErr(r.p.path, "reward", ErrBadOutput, err, "items %d..%d: output %q", sp.Start, sp.End-1, clip(out))
	}
	if res.Error != "" {
		return res, pluginErr(r.p.path, "reward", ErrPluginError, nil, "items %d..%d: %s", sp.Start, sp.End-1, res.Error)
	}
	if err := batch.Check(res, len(items)); err != nil {
		kind := ErrNotFinite
		if errors.Is(err, ErrWrongCount) {
			kind = ErrWrongCount
		}
		return res, pluginErr(r.p.path, "reward", kind, nil, "items %d..%d: %v", sp.Start, sp.End-1, err)
	}
	return res, nil
}

// decodeObject parses a JSON object (anything else, including null, is an error).
func decodeObject(b []byte, v any) error {
	t := strings.TrimSpace(string(b))
	if !strings.HasPrefix(t, "{") {
		return fmt.Errorf("not a JSON object")
	}
	return batch.Unmarshal(b, v)
}

// firstError returns the first non-nil error, preferring plugin errors over the context
// cancellations they caused in sibling chunks.
func firstError(errs []error) error {
	var cancelled error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if errors.Is(err, context.Canceled) {
			cancelled = err
			continue
		}
		return err
	}
	return cancelled
}

// Template is a WASM template plugin; it implements core/template.Template.
type Template struct{ p *plugin }

var _ template.Template = (*Template)(nil)

// OpenTemplate compiles and starts the template plugin at path.
func OpenTemplate(ctx context.Context, path string, opts Options) (*Template, error) {
	p, err := open(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	if err := p.checkKind(wire.KindTemplate); err != nil {
		return nil, err
	}
	return &Template{p}, nil
}

// Name is the plugin's describe name, or the file name without .wasm.
func (t *Template) Name() string { return t.p.info.Describe.Name }

// Describe returns what the plugin says about itself.
func (t *Template) Describe() wire.Describe { return t.p.info.Describe }

// Close releases the instances (or child processes).
func (t *Template) Close() error { return t.p.close() }

// Render sends vars and the row to grpo_render and checks that exactly one of prompt or
// messages came back.
func (t *Template) Render(ctx context.Context, vars map[string]string, row map[string]any) (template.Rendered, error) {
	in, err := batch.Marshal(wire.RenderRequest{ABI: wire.ABIVersion, Vars: vars, Row: row})
	if err != nil {
		return template.Rendered{}, pluginErr(t.p.path, "render", ErrBadOutput, err, "the row cannot be encoded as JSON")
	}
	out, err := t.p.pool.do(ctx, "render", in, 0, 0)
	if err != nil {
		return template.Rendered{}, err
	}
	var res wire.RenderResult
	if err := decodeObject(out, &res); err != nil {
		return template.Rendered{}, pluginErr(t.p.path, "render", ErrBadOutput, err, "output %q", clip(out))
	}
	if res.Error != "" {
		return template.Rendered{}, pluginErr(t.p.path, "render", ErrPluginError, nil, "%s", res.Error)
	}
	if (res.Prompt == "") == (len(res.Messages) == 0) {
		return template.Rendered{}, pluginErr(t.p.path, "render", ErrBadOutput, nil, "exactly one of prompt or messages must be set: %q", clip(out))
	}
	r := template.Rendered{Text: res.Prompt}
	for _, m := range res.Messages {
		r.Messages = append(r.Messages, template.Message{Role: m.Role, Content: m.Content})
	}
	return r, nil
}
