package wasm

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/grpo-dev/grpo/sdk/wire"
)

// instance is one live copy of a plugin: its own linear memory and runtime state. It serves
// one call at a time; after any trap or timeout the pool throws it away, because a guest
// runtime (Go, Rust) interrupted mid-call is in an undefined state.
type instance struct {
	m    *module
	mod  api.Module
	mem  api.Memory
	logs *capture
	rand *seededRand
	ext  *extismCall // Extism adapter state, nil for grpo-wasm modules

	abiVersion, alloc, free, reward, render, describe, configure api.Function

	// lost is set when a call ignored its deadline and was abandoned (still running).
	lost bool
}

// stateKey carries the calling instance to host functions through the call's context.
type stateKey struct{}

func instanceFrom(ctx context.Context) *instance {
	in, _ := ctx.Value(stateKey{}).(*instance)
	return in
}

// newInstance instantiates the module, runs _initialize, checks the ABI version and passes the
// settings to grpo_configure.
func (m *module) newInstance(ctx context.Context) (*instance, error) {
	in := &instance{m: m, logs: newCapture(m.opts.Logger, m.opts.LogBytesPerCall), rand: &seededRand{}}
	if m.abi == abiExtism {
		in.ext = newExtismCall(m.opts.Settings)
	}
	cfg := wazero.NewModuleConfig().
		WithName(""). // many anonymous instances of one compiled module
		WithStdout(in.logs.stream("stdout")).
		WithStderr(in.logs.stream("stderr")).
		WithRandSource(in.rand).
		WithStartFunctions() // _initialize is called below, under the deadline
	mod, err := m.rt.InstantiateModule(ctx, m.compiled, cfg)
	if err != nil {
		return nil, in.fail("open", ErrInstantiate, err)
	}
	in.mod, in.mem = mod, mod.Memory()
	if init := mod.ExportedFunction(exportInit); init != nil {
		if _, err := in.invoke(ctx, "initialize", init); err != nil {
			in.close()
			return nil, err
		}
	}
	if m.abi == abiGRPO {
		if err := in.bindGRPO(ctx); err != nil {
			in.close()
			return nil, err
		}
	}
	return in, nil
}

func (in *instance) bindGRPO(ctx context.Context) error {
	mod, path := in.mod, in.m.path
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	sigs := []struct {
		name            string
		dst             *api.Function
		params, results []api.ValueType
		required        bool
	}{
		{exportABI, &in.abiVersion, nil, []api.ValueType{i32}, true},
		{exportAlloc, &in.alloc, []api.ValueType{i32}, []api.ValueType{i32}, true},
		{exportFree, &in.free, []api.ValueType{i32, i32}, nil, true},
		{exportReward, &in.reward, []api.ValueType{i32, i32}, []api.ValueType{i64}, false},
		{exportRender, &in.render, []api.ValueType{i32, i32}, []api.ValueType{i64}, false},
		{exportDescribe, &in.describe, nil, []api.ValueType{i64}, false},
		{exportConfigure, &in.configure, []api.ValueType{i32, i32}, []api.ValueType{i64}, false},
	}
	for _, s := range sigs {
		f := mod.ExportedFunction(s.name)
		if f == nil {
			continue
		}
		if err := checkSignature(path, f.Definition(), s.params, s.results); err != nil {
			return err
		}
		*s.dst = f
	}
	res, err := in.invoke(ctx, "open", in.abiVersion)
	if err != nil {
		return err
	}
	if v := int32(res[0]); v != wire.ABIVersion {
		return pluginErr(path, "open", ErrABIVersion, nil, "the plugin reports ABI version %d; this grpo supports version %d", v, wire.ABIVersion)
	}
	if len(in.m.opts.Settings) == 0 {
		return nil
	}
	if in.configure == nil {
		return pluginErr(path, "configure", ErrInstantiate, nil,
			"settings were given (%s) but the plugin does not export %s; remove them or add a configure handler",
			strings.Join(sortedKeys(in.m.opts.Settings), ", "), exportConfigure)
	}
	settings, err := json.Marshal(in.m.opts.Settings)
	if err != nil {
		return pluginErr(path, "configure", ErrInstantiate, err, "settings are not representable as JSON")
	}
	out, err := in.callJSON(ctx, "configure", in.configure, settings)
	if err != nil {
		return err
	}
	if len(out) == 0 {
		return nil
	}
	var res2 struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &res2); err != nil {
		return pluginErr(path, "configure", ErrBadOutput, err, "grpo_configure output %q", clip(out))
	}
	if res2.Error != "" {
		return pluginErr(path, "configure", ErrPluginError, nil, "%s", res2.Error)
	}
	return nil
}

// call runs op ("reward" or "render") on one JSON input and returns the guest's JSON output.
// seed and offset reset the guest's WASI random stream, so that its draws do not depend on
// which instance (or how many calls before) served the batch.
func (in *instance) call(ctx context.Context, op string, input []byte, seed int64, offset int) ([]byte, error) {
	in.rand.reset(seed, offset)
	in.logs.reset()
	defer in.logs.finish()
	if in.ext != nil {
		return in.callExtism(ctx, op, input)
	}
	fn := in.reward
	if op == "render" {
		fn = in.render
	}
	if fn == nil {
		return nil, pluginErr(in.m.path, op, ErrWrongKind, nil, "the plugin does not export grpo_%s", op)
	}
	return in.callJSON(ctx, op, fn, input)
}

// describeSelf calls grpo_describe, if exported.
func (in *instance) describeSelf(ctx context.Context) (wire.Describe, bool, error) {
	var d wire.Describe
	if in.describe == nil {
		return d, false, nil
	}
	res, err := in.invoke(ctx, "describe", in.describe)
	if err != nil {
		return d, false, err
	}
	out, err := in.readOutput(ctx, "describe", res[0], 1<<20)
	if err != nil {
		return d, false, err
	}
	if err := json.Unmarshal(out, &d); err != nil {
		return d, false, pluginErr(in.m.path, "describe", ErrBadOutput, err, "grpo_describe output %q", clip(out))
	}
	return d, true, nil
}

// callJSON is the ABI v1 calling sequence: grpo_alloc, write the input, call fn(ptr, len),
// read the packed ptr<<32|len output, copy it, grpo_free both buffers.
func (in *instance) callJSON(ctx context.Context, op string, fn api.Function, input []byte) ([]byte, error) {
	res, err := in.invoke(ctx, op, in.alloc, uint64(len(input)))
	if err != nil {
		return nil, err
	}
	ptr := uint32(res[0])
	if ptr == 0 && len(input) > 0 {
		return nil, pluginErr(in.m.path, op, ErrTrap, nil, "grpo_alloc(%d) returned 0 (allocation failed)", len(input))
	}
	if !in.mem.Write(ptr, input) {
		return nil, pluginErr(in.m.path, op, ErrOutOfBounds, nil, "grpo_alloc(%d) returned %#x, outside memory of %d bytes", len(input), ptr, in.mem.Size())
	}
	res, err = in.invoke(ctx, op, fn, uint64(ptr), uint64(len(input)))
	if err != nil {
		return nil, err
	}
	out, err := in.readOutput(ctx, op, res[0], in.m.opts.maxOutput(len(input)))
	if err != nil {
		return nil, err
	}
	if _, err := in.invoke(ctx, op, in.free, uint64(ptr), uint64(len(input))); err != nil {
		return nil, err
	}
	return out, nil
}

// readOutput copies the packed ptr<<32|len output out of guest memory and frees it.
func (in *instance) readOutput(ctx context.Context, op string, packed uint64, limit int) ([]byte, error) {
	ptr, n := uint32(packed>>32), uint32(packed)
	if int64(n) > int64(limit) {
		return nil, pluginErr(in.m.path, op, ErrOutputTooLarge, nil, "%d bytes, cap %d", n, limit)
	}
	view, ok := in.mem.Read(ptr, n)
	if !ok {
		return nil, pluginErr(in.m.path, op, ErrOutOfBounds, nil, "output [%#x, +%d) is outside memory of %d bytes", ptr, n, in.mem.Size())
	}
	out := append([]byte(nil), view...) // the view dies with the next memory growth
	if n > 0 && in.free != nil {
		if _, err := in.invoke(ctx, op, in.free, uint64(ptr), uint64(n)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// invoke calls fn under the plugin deadline. wazero stops looping code at the deadline
// (WithCloseOnContextDone) but not loop-free code such as deep recursion; if the call has not
// returned Grace after the deadline, the instance is abandoned (its goroutine keeps running
// until the code returns) and ErrUninterruptible is reported.
func (in *instance) invoke(ctx context.Context, op string, fn api.Function, params ...uint64) ([]uint64, error) {
	if in.lost || in.mod.IsClosed() {
		return nil, pluginErr(in.m.path, op, ErrClosed, nil, "instance is no longer usable")
	}
	timeout := in.m.opts.Timeout
	cctx, cancel := context.WithTimeout(context.WithValue(ctx, stateKey{}, in), timeout)
	type result struct {
		res []uint64
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := fn.Call(cctx, params...)
		done <- result{res, err}
	}()
	timer := time.NewTimer(timeout + in.m.opts.Grace)
	defer timer.Stop()
	select {
	case r := <-done:
		cancel()
		if r.err != nil {
			return nil, in.fail(op, nil, r.err)
		}
		return r.res, nil
	case <-timer.C:
		in.lost = true
		go func() { <-done; cancel(); _ = in.mod.Close(context.Background()) }()
		return nil, pluginErr(in.m.path, op, ErrUninterruptible, nil, "still running %s after the %s deadline", in.m.opts.Grace, timeout)
	}
}

// fail turns a wazero error into a named *Error.
func (in *instance) fail(op string, kind error, err error) *Error {
	e := &Error{Plugin: in.m.path, Op: op, Kind: kind, Err: err, Stderr: in.logs.Tail()}
	if kind != nil {
		return e
	}
	var exit *sys.ExitError
	switch {
	case strings.Contains(e.Stderr, "out of memory"):
		// A guest runtime's own out-of-memory report (Go: "fatal error: out of memory"), even
		// when the dying runtime then ran into the deadline.
		e.Kind = ErrMemoryLimit
		e.Detail = fmt.Sprintf("memory at %d of %d MiB", in.mem.Size()>>20, in.m.opts.MemoryLimitMB)
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		e.Kind, e.Err = ErrTimeout, nil
		e.Detail = fmt.Sprintf("stopped after %s", in.m.opts.Timeout)
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeContextCanceled:
		e.Kind, e.Err = context.Canceled, nil
		e.Detail = "the caller cancelled the call"
	case in.atMemoryLimit():
		e.Kind = ErrMemoryLimit
		e.Detail = fmt.Sprintf("memory at %d of %d MiB", in.mem.Size()>>20, in.m.opts.MemoryLimitMB)
	case errors.As(err, &exit):
		e.Kind = ErrTrap
		e.Detail = fmt.Sprintf("the plugin exited with code %d", exit.ExitCode())
		e.Err = nil
	default:
		e.Kind = ErrTrap
	}
	return e
}

// atMemoryLimit reports whether the instance's memory is within the last 1/16 of its cap: a
// trap there is almost surely a failed allocation (guest allocators grow memory in chunks, so
// the last growth can fail below the exact cap).
func (in *instance) atMemoryLimit() bool {
	if in.mem == nil {
		return false
	}
	limit := uint64(in.m.opts.MemoryLimitMB) << 20
	return uint64(in.mem.Size()) >= limit-limit/16
}

func (in *instance) close() {
	if in.mod != nil && !in.lost {
		_ = in.mod.Close(context.Background())
	}
}

// seededRand is the guest's WASI random_get source: a ChaCha8 stream reset before every call
// from (seed, offset), so the same batch gives the same draws on any instance.
type seededRand struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func (s *seededRand) reset(seed int64, offset int) {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[0:], uint64(seed))
	binary.LittleEndian.PutUint64(key[8:], uint64(offset))
	copy(key[16:], "grpo-wasm-rand-1")
	s.mu.Lock()
	s.r = rand.NewChaCha8(key)
	s.mu.Unlock()
}

func (s *seededRand) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.r == nil {
		s.r = rand.NewChaCha8([32]byte{}) // instantiation: a fixed stream
	}
	return s.r.Read(p)
}

// instantiateHostModule provides grpo_host.log(level, ptr, len).
func instantiateHostModule(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder(hostModule).
		NewFunctionBuilder().
		WithFunc(func(ctx context.Context, m api.Module, level int32, ptr, n uint32) {
			in := instanceFrom(ctx)
			if in == nil {
				return
			}
			msg, ok := m.Memory().Read(ptr, min(n, maxLineBytes))
			if !ok {
				in.logs.log(2, []byte(fmt.Sprintf("grpo_host.log: out-of-bounds message [%#x, +%d)", ptr, n)))
				return
			}
			in.logs.log(level, msg)
		}).
		Export("log").
		Instantiate(ctx)
	return err
}

// clip shortens output quoted in an error message.
func clip(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
