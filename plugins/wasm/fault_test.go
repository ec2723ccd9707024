package wasm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// TestFaultMatrix: each faulty plugin gives its named error within plugin_timeout plus a few
// seconds, without a panic, and a healthy plugin (and, for the sentinel's faults, the same
// plugin) still scores the next batch.
func TestFaultMatrix(t *testing.T) {
	cases := []struct {
		plugin, completion string
		mode               string
		memMB              int
		atOpen             bool
		want               error
		detail             string
	}{
		{plugin: "noexports", atOpen: true, want: ErrNotPlugin, detail: "exports: add"},
		{plugin: "abi2", atOpen: true, want: ErrABIVersion, detail: "version 2"},
		{plugin: "trap", want: ErrTrap, detail: "unreachable"},
		{plugin: "loop", want: ErrTimeout},
		{plugin: "overflow", want: ErrTrap, detail: "stack overflow"},
		{plugin: "grow", memMB: 16, want: ErrMemoryLimit},
		{plugin: "notjson", want: ErrBadOutput, detail: "not json"},
		{plugin: "wrongcount", want: ErrWrongCount, detail: "got 1 rewards for 3 items"},
		{plugin: "oob", want: ErrOutOfBounds, detail: "0xfff00000"},
		{plugin: "huge", want: ErrOutputTooLarge, detail: "1048576 bytes, cap"},
		{plugin: "error", want: ErrPluginError, detail: "no answer col"},
		{plugin: "sentinel", completion: "panic", want: ErrTrap, detail: "sentinel asked to panic"},
		{plugin: "sentinel", completion: "loop", want: ErrTimeout},
		{plugin: "sentinel", completion: "alloc", memMB: 64, want: ErrMemoryLimit},
		{plugin: "sentinel", completion: "error", want: ErrPluginError, detail: "asked to fail"},
		{plugin: "loop", mode: SandboxProcess, want: ErrTimeout},
		{plugin: "trap", mode: SandboxProcess, want: ErrTrap, detail: "unreachable"},
		{plugin: "sentinel", completion: "panic", mode: SandboxProcess, want: ErrTrap},
		{plugin: "abi2", mode: SandboxProcess, atOpen: true, want: ErrABIVersion},
		// Loop-free recursion: the process sandbox kills it; in process it can only be
		// abandoned (last, because its goroutine burns a core for a few more seconds).
		{plugin: "fib60", mode: SandboxProcess, want: ErrTimeout, detail: "killed"},
		{plugin: "fib45", want: ErrUninterruptible},
	}
	healthy := openReward(t, "sentinel", testOpts(t))
	for _, c := range cases {
		name := c.plugin + "/" + c.completion
		if c.mode != "" {
			name += "/" + c.mode
		}
		t.Run(name, func(t *testing.T) {
			opts := testOpts(t)
			if c.mode == SandboxProcess {
				opts = processOpts(t)
			}
			if errors.Is(c.want, ErrTimeout) || errors.Is(c.want, ErrUninterruptible) {
				opts.Timeout, opts.Grace = 300*time.Millisecond, 700*time.Millisecond
			}
			if c.memMB > 0 {
				opts.MemoryLimitMB = c.memMB
			}
			start := time.Now()
			r, err := OpenReward(context.Background(), fixtures.Path(t, c.plugin), opts)
			if err == nil {
				defer r.Close()
				if c.atOpen {
					t.Fatalf("open succeeded, want %v", c.want)
				}
				comp := c.completion
				if comp == "" {
					comp = "x"
				}
				start = time.Now()
				_, err = r.Score(context.Background(), 0, samples("ok", comp, "ok"))
			} else if !c.atOpen {
				t.Fatalf("open: %v", err)
			}
			elapsed := time.Since(start)
			var perr *Error
			if !errors.Is(err, c.want) || !errors.As(err, &perr) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), fixtures.Path(t, c.plugin)) || !strings.Contains(err.Error(), c.detail) {
				t.Errorf("error does not name the plugin file and %q: %v", c.detail, err)
			}
			if limit := opts.Timeout + opts.Grace + 3*time.Second; elapsed > limit {
				t.Errorf("took %s, more than %s", elapsed, limit)
			}
			if r != nil && c.plugin == "sentinel" { // the same plugin recovers
				sc, err := r.Score(context.Background(), 0, samples("abc"))
				if err != nil || sc.Values[0] != 3 {
					t.Errorf("same plugin after the fault: %v, %v", sc.Values, err)
				}
			}
			sc, err := healthy.Score(context.Background(), 0, samples("abcd"))
			if err != nil || sc.Values[0] != 4 {
				t.Errorf("healthy plugin after the fault: %v, %v", sc.Values, err)
			}
		})
	}
}

func TestCancelledContext(t *testing.T) {
	opts := testOpts(t)
	opts.Timeout = time.Minute
	r := openReward(t, "loop", opts)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.Score(ctx, 0, samples("x"))
	if !errors.Is(err, context.Canceled) && !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want cancellation", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("cancellation took %s", time.Since(start))
	}
}
