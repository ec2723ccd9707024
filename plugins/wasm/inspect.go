package wasm

import (
	"context"
	"fmt"
	"os"

	"github.com/tetratelabs/wazero"

	"github.com/grpo-dev/grpo/sdk/wire"
)

// Info is what `grpo plugin inspect` shows about a module.
type Info struct {
	Path     string
	Size     int
	Imports  []Symbol
	Exports  []Symbol
	Memory   string        // "min N pages, max M pages"
	ABI      string        // "grpo-wasm" or "extism"; empty if neither
	Describe wire.Describe // empty if the plugin could not be opened
	Reward   bool          // it can score batches
	Render   bool          // it can render templates
	// OpenErr is why the plugin could not be opened as a grpo plugin (nil if it can be).
	OpenErr error
}

// Symbol is one imported or exported function.
type Symbol struct {
	Module    string // import module (empty for exports)
	Name      string
	Signature string
}

// Inspect lists a module's imports and exports and, if it is a grpo (or Extism) plugin, opens
// it to read its ABI version and self-description.
func Inspect(ctx context.Context, path string, opts Options) (Info, error) {
	info := Info{Path: path}
	code, err := os.ReadFile(path)
	if err != nil {
		return info, fmt.Errorf("plugin %s: %w", path, err)
	}
	info.Size = len(code)
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter()) // no need to compile to machine code
	defer rt.Close(ctx)
	c, err := rt.CompileModule(ctx, code)
	if err != nil {
		return info, pluginErr(path, "inspect", ErrNotPlugin, err, "not a valid WebAssembly module")
	}
	for _, f := range c.ImportedFunctions() {
		mod, name, _ := f.Import()
		info.Imports = append(info.Imports, Symbol{Module: mod, Name: name, Signature: signature(f)})
	}
	exports := c.ExportedFunctions()
	for _, name := range sortedKeys(exports) {
		info.Exports = append(info.Exports, Symbol{Name: name, Signature: signature(exports[name])})
	}
	for _, m := range c.ExportedMemories() {
		max, hasMax := m.Max()
		info.Memory = fmt.Sprintf("min %d pages", m.Min())
		if hasMax {
			info.Memory += fmt.Sprintf(", max %d pages", max)
		}
	}
	opts.Workers = 1
	p, err := open(ctx, path, opts)
	if err != nil {
		info.OpenErr = err
		return info, nil
	}
	defer p.close()
	info.ABI, info.Describe, info.Reward, info.Render = p.info.ABI, p.info.Describe, p.info.Reward, p.info.Render
	return info, nil
}
