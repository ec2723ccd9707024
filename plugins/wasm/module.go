package wasm

import (
	"context"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/assemblyscript"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// abiKind says how the host talks to a module.
type abiKind int

const (
	abiGRPO   abiKind = iota // grpo-wasm ABI v1 (sdk/ABI.md)
	abiExtism                // Extism PDK module, through the adapter in extism.go
)

func (k abiKind) String() string {
	if k == abiExtism {
		return "extism"
	}
	return "grpo-wasm"
}

// Host module names a plugin may import.
const (
	hostModule      = "grpo_host"
	extismModule    = "extism:host/env"
	wasiModule      = wasi_snapshot_preview1.ModuleName
	asModule        = "env" // AssemblyScript's env.abort/trace/seed
	extismRewardFn  = "reward"
	extismRenderFn  = "render"
	exportABI       = "grpo_abi_version"
	exportAlloc     = "grpo_alloc"
	exportFree      = "grpo_free"
	exportReward    = "grpo_reward"
	exportRender    = "grpo_render"
	exportDescribe  = "grpo_describe"
	exportConfigure = "grpo_configure"
	exportInit      = "_initialize"
)

// module is one compiled plugin: a wazero runtime (its config carries the memory cap and the
// close-on-deadline switch) with the host modules the plugin imports, and the compiled code
// shared by all of its instances.
type module struct {
	path     string
	opts     Options
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	abi      abiKind
}

// caches holds one compilation cache per directory for the whole process: wazero allows
// sharing a cache between runtimes, and compiling a module once (1 s for a Go guest) then
// loading it from disk (50 ms) is the point of having one.
var caches sync.Map // dir → wazero.CompilationCache

func compilationCache(dir string) (wazero.CompilationCache, error) {
	if c, ok := caches.Load(dir); ok {
		return c.(wazero.CompilationCache), nil
	}
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, err
	}
	actual, _ := caches.LoadOrStore(dir, c)
	return actual.(wazero.CompilationCache), nil
}

// compile reads, compiles and classifies the module at path and instantiates the host modules
// it imports.
func compile(ctx context.Context, path string, opts Options) (*module, error) {
	code, err := os.ReadFile(path)
	if err != nil {
		return nil, pluginErr(path, "open", ErrNotPlugin, err, "cannot read the module file")
	}
	// WithCloseOnContextDone is what lets a deadline interrupt a looping guest. It costs guest
	// speed: a check at every loop header (shared/research/plugins.md §1.3; ≈8× on the math
	// reward, see BENCHMARKS.md). A sandbox child runs without it, because its parent kills it
	// on a missed deadline. (Code compiled with and without the checks is cached under different
	// keys: wazero hashes the flag into the module ID.)
	cfg := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(!opts.killedOnDeadline).
		WithMemoryLimitPages(opts.memoryLimitPages())
	if opts.CacheDir != "-" {
		if err := os.MkdirAll(opts.CacheDir, 0o755); err == nil {
			if c, err := compilationCache(opts.CacheDir); err == nil {
				cfg = cfg.WithCompilationCache(c)
			} else {
				opts.Logger.Warn("wasm compilation cache unavailable", "dir", opts.CacheDir, "err", err)
			}
		}
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	m := &module{path: path, opts: opts, rt: rt}
	if err := m.init(ctx, code); err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	return m, nil
}

func (m *module) init(ctx context.Context, code []byte) error {
	compiled, err := m.rt.CompileModule(ctx, code)
	if err != nil {
		return pluginErr(m.path, "open", ErrNotPlugin, err, "not a valid WebAssembly module")
	}
	m.compiled = compiled
	exports := compiled.ExportedFunctions()
	imports := importModules(compiled)
	switch {
	case exports[exportABI] != nil:
		m.abi = abiGRPO
		for _, name := range []string{exportAlloc, exportFree} {
			if exports[name] == nil {
				return pluginErr(m.path, "open", ErrNotPlugin, nil, "exports %s but not %s", exportABI, name)
			}
		}
		if exports[exportReward] == nil && exports[exportRender] == nil {
			return pluginErr(m.path, "open", ErrNotPlugin, nil, "exports neither %s nor %s", exportReward, exportRender)
		}
	case imports[extismModule]:
		m.abi = abiExtism
		if exports[extismRewardFn] == nil && exports[extismRenderFn] == nil {
			return pluginErr(m.path, "open", ErrNotPlugin, nil,
				"Extism module without a %q or %q export (exports: %s)", extismRewardFn, extismRenderFn, exportList(compiled))
		}
	default:
		return pluginErr(m.path, "open", ErrNotPlugin, nil, "no grpo_abi_version export and no %s imports (exports: %s)",
			extismModule, exportList(compiled))
	}
	if _, ok := compiled.ExportedMemories()["memory"]; !ok {
		return pluginErr(m.path, "open", ErrNotPlugin, nil, `the module does not export its linear memory as "memory"`)
	}
	for name := range imports {
		switch name {
		case wasiModule:
			if _, err := wasi_snapshot_preview1.Instantiate(ctx, m.rt); err != nil {
				return pluginErr(m.path, "open", ErrInstantiate, err, "WASI host module")
			}
		case hostModule:
			if err := instantiateHostModule(ctx, m.rt); err != nil {
				return pluginErr(m.path, "open", ErrInstantiate, err, "grpo_host module")
			}
		case asModule:
			if _, err := assemblyscript.Instantiate(ctx, m.rt); err != nil {
				return pluginErr(m.path, "open", ErrInstantiate, err, "AssemblyScript env module")
			}
		case extismModule:
			if err := instantiateExtism(ctx, m.rt, compiled); err != nil {
				return pluginErr(m.path, "open", ErrNotPlugin, err, "Extism adapter")
			}
		default:
			return pluginErr(m.path, "open", ErrNotPlugin, nil,
				"imports host module %q, which grpo does not provide (it provides %s, %s, %s and %s)",
				name, wasiModule, hostModule, asModule, extismModule)
		}
	}
	return nil
}

func (m *module) close(ctx context.Context) error { return m.rt.Close(ctx) }

// importModules returns the names of the modules whose functions or memories are imported.
func importModules(c wazero.CompiledModule) map[string]bool {
	mods := map[string]bool{}
	for _, f := range c.ImportedFunctions() {
		mod, _, _ := f.Import()
		mods[mod] = true
	}
	for _, mem := range c.ImportedMemories() {
		mod, _, _ := mem.Import()
		mods[mod] = true
	}
	return mods
}

func exportList(c wazero.CompiledModule) string {
	names := sortedKeys(c.ExportedFunctions())
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// signature renders a function's type as "(i32, i32) -> i64".
func signature(f typed) string {
	types := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ", ")
	}
	sig := "(" + types(f.ParamTypes()) + ")"
	if len(f.ResultTypes()) > 0 {
		sig += " -> " + types(f.ResultTypes())
	}
	return sig
}

// checkSignature verifies an export's type before the host calls it.
func checkSignature(path string, f api.FunctionDefinition, params, results []api.ValueType) error {
	ok := len(f.ParamTypes()) == len(params) && len(f.ResultTypes()) == len(results)
	for i := 0; ok && i < len(params); i++ {
		ok = f.ParamTypes()[i] == params[i]
	}
	for i := 0; ok && i < len(results); i++ {
		ok = f.ResultTypes()[i] == results[i]
	}
	if !ok {
		want := signature(&sigOnly{params, results})
		return pluginErr(path, "open", ErrNotPlugin, nil, "export %s has type %s, ABI v1 wants %s", f.ExportNames()[0], signature(f), want)
	}
	return nil
}

// typed is what signature needs of a function definition.
type typed interface {
	ParamTypes() []api.ValueType
	ResultTypes() []api.ValueType
}

// sigOnly is a function type carrying only a type, for rendering the wanted signature.
type sigOnly struct{ params, results []api.ValueType }

func (s *sigOnly) ParamTypes() []api.ValueType  { return s.params }
func (s *sigOnly) ResultTypes() []api.ValueType { return s.results }
