package wasm

import (
	"errors"
	"fmt"
	"strings"

	"github.com/grpo-dev/grpo/plugins/internal/batch"
)

// The named failures of a WASM plugin. Every error returned by this package is an *Error whose
// Kind is one of these; test with errors.Is(err, wasm.ErrTimeout).
var (
	ErrNotPlugin       = errors.New("not a grpo plugin")                       // no grpo exports and no Extism imports
	ErrABIVersion      = errors.New("unsupported ABI version")                 // grpo_abi_version() != 1
	ErrWrongKind       = errors.New("wrong plugin kind")                       // a template opened as a reward, or back
	ErrInstantiate     = errors.New("instantiation failed")                    // start-up (_initialize, grpo_configure) failed
	ErrTrap            = errors.New("plugin trapped")                          // wasm trap: unreachable, stack overflow, bad memory access, proc_exit
	ErrMemoryLimit     = errors.New("plugin exceeded its memory limit")        // trapped with its memory at the cap
	ErrTimeout         = errors.New("plugin call timed out")                   // the call passed plugin_timeout and was stopped
	ErrUninterruptible = errors.New("plugin could not be stopped at deadline") // in-process only: loop-free code ignored the deadline
	ErrOutOfBounds     = errors.New("plugin returned an out-of-bounds pointer")
	ErrOutputTooLarge  = errors.New("plugin output exceeds the size cap")
	ErrBadOutput       = errors.New("plugin output is not valid JSON of the expected shape")
	ErrWrongCount      = batch.ErrWrongCount
	ErrNotFinite       = batch.ErrNotFinite
	ErrPluginError     = errors.New("plugin reported an error") // {"error": "..."}
	ErrClosed          = errors.New("plugin is closed")
)

// Error is a failure of one plugin, naming the plugin file, the operation and what went wrong.
type Error struct {
	Plugin string // the .wasm path as given
	Op     string // "open", "reward", "render", "configure", "describe"
	Kind   error  // one of the Err* values above
	Detail string // what happened, in words
	Stderr string // the tail of the plugin's captured stdout/stderr, if any
	Err    error  // the underlying error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plugin %s: %s: %v", e.Plugin, e.Op, e.Kind)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.Err != nil && (e.Detail == "" || !strings.Contains(e.Detail, e.Err.Error())) {
		b.WriteString(": " + e.Err.Error())
	}
	if hint := hints[e.Kind]; hint != "" {
		b.WriteString(" (" + hint + ")")
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		b.WriteString("\nplugin output (tail):\n" + s)
	}
	return b.String()
}

// Unwrap lets errors.Is match both the kind and the underlying error.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

var hints = map[error]string{
	ErrNotPlugin:       "a grpo plugin exports grpo_abi_version, grpo_alloc, grpo_free and grpo_reward or grpo_render; see sdk/ABI.md",
	ErrABIVersion:      "rebuild the plugin against an SDK for grpo-wasm ABI v1",
	ErrMemoryLimit:     "raise plugin_memory_limit_mb or make the plugin use less memory",
	ErrTimeout:         "raise plugin_timeout or make the plugin faster; the instance was discarded",
	ErrUninterruptible: `the call still runs in the background; use plugin_sandbox="process" to have such plugins killed`,
	ErrOutOfBounds:     "the packed ptr<<32|len result must point inside the guest's memory",
	ErrOutputTooLarge:  "the plugin's output is far larger than its input; check it",
}

// pluginErr builds an *Error.
func pluginErr(plugin, op string, kind error, err error, format string, args ...any) *Error {
	return &Error{Plugin: plugin, Op: op, Kind: kind, Err: err, Detail: fmt.Sprintf(format, args...)}
}
