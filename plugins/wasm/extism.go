package wasm

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// The Extism adapter serves modules written with an Extism PDK (github.com/extism/go-pdk,
// @extism/as-pdk, ...): they import "extism:host/env" and export `reward` (or `render`) as a
// `() -> i32` function that reads its input and writes its output through host calls. The
// adapter gives them the same JSON batch as grpo-wasm modules get and reads the same JSON
// result back.
//
// It implements, in Go, the part of Extism's runtime those PDK calls need (Extism's own
// "kernel" is a separate WASM module; the model here is the same, written out by hand because
// the kernel ships only inside Extism's SDK): a kernel memory separate from the guest's,
// addressed by 64-bit offsets (0 = none), where alloc hands out blocks whose lengths the guest
// can query, reset before every call; the call's input; its output or error; the plugin's
// config strings (from the plugin's settings) and vars; and the log functions. Not provided:
// http_request/http_status_code/http_headers (a reward gets no network) and host functions of
// "extism:host/user"; a module importing them is refused at open with that reason.

// extismCall is one instance's Extism state.
type extismCall struct {
	config map[string]string
	vars   map[string][]byte
	mem    []byte            // kernel memory; offsets below kernelBase are never handed out
	blocks map[uint64]uint64 // offset → length of each live block
	input  uint64            // offset of the input block
	inLen  uint64
	output []byte
	outSet bool
	errMsg string
	limit  uint64
}

const kernelBase = 8

func newExtismCall(settings map[string]any) *extismCall {
	cfg := map[string]string{}
	for k, v := range settings {
		if s, ok := v.(string); ok {
			cfg[k] = s
		} else if b, err := json.Marshal(v); err == nil {
			cfg[k] = string(b) // Extism config values are strings; non-strings travel as JSON
		}
	}
	return &extismCall{config: cfg, vars: map[string][]byte{}}
}

func (x *extismCall) reset(input []byte, limit uint64) {
	x.mem = make([]byte, kernelBase, kernelBase+len(input)+4096)
	x.blocks = map[uint64]uint64{}
	x.output, x.outSet, x.errMsg, x.limit = nil, false, "", limit
	x.input = x.alloc(uint64(len(input)))
	x.inLen = uint64(len(input))
	copy(x.mem[x.input:], input)
}

func (x *extismCall) alloc(n uint64) uint64 {
	off := (uint64(len(x.mem)) + 7) &^ 7
	if off+n > x.limit {
		panic(fmt.Errorf("extism alloc(%d): kernel memory over the plugin memory limit", n))
	}
	x.mem = append(x.mem, make([]byte, off+n-uint64(len(x.mem)))...)
	x.blocks[off] = n
	return off
}

// span checks [off, off+n) against kernel memory; a guest reading outside it traps, as it
// would with Extism's kernel.
func (x *extismCall) span(off, n uint64) []byte {
	if off < kernelBase || off+n > uint64(len(x.mem)) || off+n < off {
		panic(fmt.Errorf("extism kernel memory access [%d, +%d) out of bounds", off, n))
	}
	return x.mem[off : off+n]
}

func (x *extismCall) block(off uint64) []byte {
	n, ok := x.blocks[off]
	if !ok {
		panic(fmt.Errorf("extism: offset %d is not an allocated block", off))
	}
	return x.span(off, n)
}

func (x *extismCall) store(b []byte) uint64 {
	off := x.alloc(uint64(len(b)))
	copy(x.mem[off:], b)
	return off
}

// extismFuncs are the provided "extism:host/env" functions, by name.
func extismFuncs() map[string]any {
	st := func(ctx context.Context) *extismCall {
		in := instanceFrom(ctx)
		if in == nil || in.ext == nil {
			panic(fmt.Errorf("extism host function called outside a plugin call"))
		}
		return in.ext
	}
	logAt := func(level int32) func(ctx context.Context, off uint64) {
		return func(ctx context.Context, off uint64) {
			instanceFrom(ctx).logs.log(level, st(ctx).block(off))
		}
	}
	return map[string]any{
		"input_length":  func(ctx context.Context) uint64 { return st(ctx).inLen },
		"input_offset":  func(ctx context.Context) uint64 { return st(ctx).input },
		"input_load_u8": func(ctx context.Context, off uint64) uint32 { x := st(ctx); return uint32(x.span(x.input+off, 1)[0]) },
		"input_load_u64": func(ctx context.Context, off uint64) uint64 {
			x := st(ctx)
			return binary.LittleEndian.Uint64(x.span(x.input+off, 8))
		},
		"output_set": func(ctx context.Context, off, n uint64) {
			x := st(ctx)
			x.output, x.outSet = append([]byte(nil), x.span(off, n)...), true
		},
		"error_set": func(ctx context.Context, off uint64) { x := st(ctx); x.errMsg = string(x.block(off)) },
		"config_get": func(ctx context.Context, off uint64) uint64 {
			x := st(ctx)
			v, ok := x.config[string(x.block(off))]
			if !ok {
				return 0
			}
			return x.store([]byte(v))
		},
		"var_get": func(ctx context.Context, off uint64) uint64 {
			x := st(ctx)
			v, ok := x.vars[string(x.block(off))]
			if !ok {
				return 0
			}
			return x.store(v)
		},
		"var_set": func(ctx context.Context, koff, voff uint64) {
			x := st(ctx)
			if voff == 0 {
				delete(x.vars, string(x.block(koff)))
				return
			}
			x.vars[string(x.block(koff))] = append([]byte(nil), x.block(voff)...)
		},
		"log_trace":     logAt(-1),
		"log_debug":     logAt(-1),
		"log_info":      logAt(0),
		"log_warn":      logAt(1),
		"log_error":     logAt(2),
		"get_log_level": func(ctx context.Context) int32 { return 0 }, // trace: every line reaches slog, which filters
		"store_u8":      func(ctx context.Context, off uint64, v uint32) { st(ctx).span(off, 1)[0] = byte(v) },
		"load_u8":       func(ctx context.Context, off uint64) uint32 { return uint32(st(ctx).span(off, 1)[0]) },
		"store_u64": func(ctx context.Context, off, v uint64) {
			binary.LittleEndian.PutUint64(st(ctx).span(off, 8), v)
		},
		"load_u64": func(ctx context.Context, off uint64) uint64 {
			return binary.LittleEndian.Uint64(st(ctx).span(off, 8))
		},
		"length": func(ctx context.Context, off uint64) uint64 {
			n, ok := st(ctx).blocks[off]
			if !ok {
				return 0
			}
			return n
		},
		"length_unsafe": func(ctx context.Context, off uint64) uint64 { return st(ctx).blocks[off] },
		"alloc":         func(ctx context.Context, n uint64) uint64 { return st(ctx).alloc(n) },
		"free":          func(ctx context.Context, off uint64) { delete(st(ctx).blocks, off) },
	}
}

// instantiateExtism provides "extism:host/env", after checking that the module imports only
// functions the adapter has.
func instantiateExtism(ctx context.Context, rt wazero.Runtime, c wazero.CompiledModule) error {
	funcs := extismFuncs()
	var missing []string
	for _, f := range c.ImportedFunctions() {
		mod, name, _ := f.Import()
		if _, ok := funcs[name]; mod == extismModule && !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the module imports %s from %s, which grpo does not provide (rewards get no network or host functions)",
			strings.Join(missing, ", "), extismModule)
	}
	b := rt.NewHostModuleBuilder(extismModule)
	for _, name := range sortedKeys(funcs) {
		b.NewFunctionBuilder().WithFunc(funcs[name]).Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// callExtism runs the module's `reward`/`render` export with input as the Extism input.
func (in *instance) callExtism(ctx context.Context, op string, input []byte) ([]byte, error) {
	name := extismRewardFn
	if op == "render" {
		name = extismRenderFn
	}
	fn := in.mod.ExportedFunction(name)
	if fn == nil {
		return nil, pluginErr(in.m.path, op, ErrWrongKind, nil, "the Extism module does not export %q", name)
	}
	if err := checkSignature(in.m.path, fn.Definition(), nil, []api.ValueType{api.ValueTypeI32}); err != nil {
		return nil, err
	}
	in.ext.reset(input, uint64(in.m.opts.MemoryLimitMB)<<20)
	res, err := in.invoke(ctx, op, fn)
	if err != nil {
		return nil, err
	}
	if rc := int32(res[0]); rc != 0 {
		msg := in.ext.errMsg
		if msg == "" {
			msg = fmt.Sprintf("the %q export returned %d", name, rc)
		}
		return nil, pluginErr(in.m.path, op, ErrPluginError, nil, "%s", msg)
	}
	if !in.ext.outSet {
		return nil, pluginErr(in.m.path, op, ErrBadOutput, nil, "the Extism module set no output")
	}
	if limit := in.m.opts.maxOutput(len(input)); len(in.ext.output) > limit {
		return nil, pluginErr(in.m.path, op, ErrOutputTooLarge, nil, "%d bytes, cap %d", len(in.ext.output), limit)
	}
	return in.ext.output, nil
}
