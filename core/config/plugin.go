package config

import (
	"path/filepath"
	"strings"
)

// PluginSpec names one plugin and the settings passed to it. It is a [[rewards]] entry or the
// [template] table.
type PluginSpec struct {
	// Plugin is a .wasm path (run in wazero), an executable path (a hashicorp/go-plugin
	// process) or "builtin:NAME" (shipped in the grpo binary). Relative paths are relative to
	// the working directory.
	Plugin string `toml:"plugin"`
	// Settings is passed through to the plugin untouched (its describe/configure call).
	Settings map[string]any `toml:"settings"`
}

// Plugin kinds returned by PluginSpec.Kind.
const (
	KindNone    = ""        // no plugin named
	KindBuiltin = "builtin" // "builtin:NAME"
	KindWASM    = "wasm"    // a .wasm module
	KindProcess = "process" // an executable speaking go-plugin gRPC
)

// BuiltinPrefix starts the name of a plugin shipped in the grpo binary.
const BuiltinPrefix = "builtin:"

// Kind says how the plugin is run, from the form of its name alone.
func (p PluginSpec) Kind() string {
	switch {
	case p.Plugin == "":
		return KindNone
	case strings.HasPrefix(p.Plugin, BuiltinPrefix):
		return KindBuiltin
	case strings.EqualFold(filepath.Ext(p.Plugin), ".wasm"):
		return KindWASM
	default:
		return KindProcess
	}
}

// BuiltinName is NAME for "builtin:NAME", else "".
func (p PluginSpec) BuiltinName() string {
	if p.Kind() != KindBuiltin {
		return ""
	}
	return strings.TrimPrefix(p.Plugin, BuiltinPrefix)
}

// clone returns a deep copy.
func (p PluginSpec) clone() PluginSpec {
	return PluginSpec{Plugin: p.Plugin, Settings: cloneMap(p.Settings)}
}
