package proc

import (
	"errors"
	"fmt"
	"strings"
)

// Error classes of a process plugin failure; test with errors.Is. Every error returned by this
// package is an *Error wrapping one of them.
var (
	// ErrStart: the executable could not be started or did not complete the go-plugin handshake
	// (exited at start, printed something other than the handshake line, wrong protocol version,
	// Describe/Configure failed).
	ErrStart = errors.New("plugin failed to start")
	// ErrCrashed: the process died or dropped the connection during a call.
	ErrCrashed = errors.New("plugin process crashed")
	// ErrTimeout: a call missed its deadline; the process was killed.
	ErrTimeout = errors.New("plugin call timed out")
	// ErrProtocol: the plugin answered, but not with what the protocol requires (not JSON, wrong
	// number of rewards, non-finite values, an empty render...).
	ErrProtocol = errors.New("plugin broke the protocol")
	// ErrPlugin: the plugin reported an error for this call ({"error": "..."}).
	ErrPlugin = errors.New("plugin reported an error")
	// ErrGaveUp: the plugin crashed or hung more times in a row than Options.Restarts allows; the
	// host no longer restarts it.
	ErrGaveUp = errors.New("plugin restarted too many times; giving up")
	// ErrClosed: the plugin was used after Close.
	ErrClosed = errors.New("plugin is closed")
)

// Error describes a failed plugin call: which plugin, which operation, what happened, and for a
// dead process its exit status and last stderr lines.
type Error struct {
	Plugin string // the executable's path
	Kind   string // reward, template or generator
	Op     string // start, describe, configure, score, render, generate, sync_weights
	// Exit is the process's exit status ("exit status 3", "signal: killed"); empty while running.
	Exit string
	// Stderr holds the last lines the process wrote on stderr.
	Stderr []string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s plugin %s: %s: %v", e.Kind, e.Plugin, e.Op, e.Err)
	if e.Exit != "" {
		fmt.Fprintf(&b, " (process %s)", e.Exit)
	}
	if hint := hint(e.Err); hint != "" {
		b.WriteString("; " + hint)
	}
	if len(e.Stderr) > 0 {
		b.WriteString("\nlast stderr lines of the plugin:\n  " + strings.Join(e.Stderr, "\n  "))
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// hint says what to do about each class.
func hint(err error) string {
	switch {
	case errors.Is(err, ErrGaveUp):
		return "fix the plugin (its stderr is in the log) and restart grpo"
	case errors.Is(err, ErrStart):
		return "check that the file is an executable grpo plugin of this kind (built with " +
			"sdk/go/grpoproc or sdk/python/grpo_plugin.py) and runs on this machine; try `grpo plugin inspect`"
	case errors.Is(err, ErrTimeout):
		return "raise plugin_timeout or make the plugin faster"
	case errors.Is(err, ErrCrashed):
		return "the plugin's stderr is below and in grpo's log"
	}
	return ""
}
