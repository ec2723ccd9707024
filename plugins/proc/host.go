// Package proc hosts grpo plugins that run as separate processes: executables speaking
// sdk/proto/grpo_plugin.proto over hashicorp/go-plugin (gRPC on a unix socket, AutoMTLS). It
// implements the core's reward.Reward, template.Template and generate.Generator, so a reward in
// Python, a heavy checker or a third-party generation backend plugs in without recompiling grpo.
//
// Lifecycle and fault policy (research note plugins.md §4–5):
//   - the executable is started once and reused across calls; each call has a deadline
//     (Options.Timeout);
//   - a call that finds the process dead (gRPC Unavailable) is reported (name, exit status,
//     last stderr lines), the plugin is restarted after a backoff, and the call is retried once;
//   - a call that misses its deadline kills the process (its handler may still be running) and
//     fails; the next call starts a fresh process;
//   - after Options.Restarts consecutive failures the host gives up on the plugin (ErrGaveUp);
//   - Close shuts the plugin down gracefully, then SIGKILLs it; a parent-death signal and the
//     SDKs' parent watching stop plugins even when grpo is killed.
package proc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/grpo-dev/grpo/sdk/proto/pluginpb"
	"github.com/grpo-dev/grpo/sdk/wire"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// host owns one plugin executable across restarts. Calls are serialized.
type host struct {
	spec     spec
	settings []byte // JSON object for Configure

	mu       sync.Mutex
	describe wire.Describe // from the first start; names the plugin across restarts
	cur      *instance     // nil when not running
	failures int           // consecutive crashes/timeouts/failed restarts since the last success
	gaveUp   error
	closed   bool
}

// open resolves the path, starts the plugin and configures it. Start-up failures are returned
// at once (no restart): they are configuration problems.
func open(ctx context.Context, path, kind string, settings map[string]any, opts Options) (*host, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &Error{Plugin: path, Kind: kind, Op: "start", Err: fmt.Errorf("%w: %w", ErrStart, err)}
	}
	if settings == nil {
		settings = map[string]any{}
	}
	js, err := json.Marshal(settings)
	if err != nil {
		return nil, &Error{Plugin: path, Kind: kind, Op: "configure",
			Err: fmt.Errorf("%w: settings cannot be encoded as JSON: %w", ErrStart, err)}
	}
	h := &host{spec: spec{path: abs, kind: kind, opts: opts}, settings: js}
	inst, err := h.startConfigured(ctx)
	if err != nil {
		return nil, err
	}
	h.cur = inst
	h.describe = inst.describe
	return h, nil
}

func (h *host) startConfigured(ctx context.Context) (*instance, error) {
	inst, err := start(ctx, h.spec)
	if err != nil {
		return nil, err
	}
	if err := inst.configure(ctx, h.settings, h.spec.opts.StartTimeout); err != nil {
		inst.kill()
		e := h.errorf(inst, "configure", err)
		return nil, e
	}
	return inst, nil
}

// invoker is one RPC of the plugin's service.
type invoker func(ctx context.Context, conn *grpc.ClientConn, in *pluginpb.JSON) (*pluginpb.JSON, error)

// call runs one RPC under the host's deadline, restart and retry policy and returns the reply's
// JSON bytes.
func (h *host) call(ctx context.Context, op string, in []byte, rpc invoker) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for attempt := 0; ; attempt++ {
		inst, err := h.ensure(ctx)
		if err != nil {
			return nil, err
		}
		began := time.Now()
		cctx, cancel := context.WithTimeout(ctx, h.spec.opts.Timeout)
		out, err := rpc(cctx, inst.conn, &pluginpb.JSON{Json: in})
		deadline := cctx.Err() == context.DeadlineExceeded
		cancel()
		if err == nil {
			h.failures = 0
			return out.Json, nil
		}
		code := status.Code(err)
		switch {
		case ctx.Err() == context.Canceled:
			// The caller gave up (shutdown, a sibling reward failed); the plugin is fine.
			return nil, h.errorf(nil, op, fmt.Errorf("call cancelled: %w", ctx.Err()))
		case deadline || code == codes.DeadlineExceeded:
			inst.kill()
			h.cur = nil
			h.failures++
			e := h.errorf(inst, op, fmt.Errorf("%w after %v (timeout %v): the process was "+
				"killed and will be restarted for the next call", ErrTimeout,
				time.Since(began).Round(time.Millisecond), h.spec.opts.Timeout))
			logCrash(h.spec.opts.Logger, e)
			return nil, e
		case code == codes.Unavailable || inst.client.Exited():
			inst.kill()
			h.cur = nil
			h.failures++
			e := h.errorf(inst, op, fmt.Errorf("%w: %w", ErrCrashed, err))
			logCrash(h.spec.opts.Logger, e)
			if attempt == 0 && h.spec.opts.Restarts > 0 {
				continue // restart (after the backoff) and retry the call once
			}
			return nil, e
		default:
			// The process is alive but the call failed at the gRPC level: a missing service
			// (Unimplemented: wrong kind or an old plugin), a message over gRPC limits, ...
			return nil, h.errorf(nil, op, fmt.Errorf("%w: %w", ErrProtocol, err))
		}
	}
}

// ensure returns the running instance, restarting the plugin (after the backoff) if needed.
func (h *host) ensure(ctx context.Context) (*instance, error) {
	if h.closed {
		return nil, h.errorf(nil, "call", ErrClosed)
	}
	if h.cur != nil {
		return h.cur, nil
	}
	if h.gaveUp != nil {
		return nil, h.gaveUp
	}
	opts := h.spec.opts
	if h.failures > opts.Restarts {
		h.gaveUp = h.errorf(nil, "restart", fmt.Errorf("%w (%d consecutive failures, restarts=%d)",
			ErrGaveUp, h.failures, opts.Restarts))
		opts.Logger.Error("giving up on plugin", "plugin", h.spec.path, "error", h.gaveUp)
		return nil, h.gaveUp
	}
	wait := opts.backoff(h.failures)
	opts.Logger.Warn("restarting plugin", "plugin", h.spec.path, "restart", h.failures,
		"of", opts.Restarts, "backoff", wait)
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return nil, h.errorf(nil, "restart", ctx.Err())
	}
	inst, err := h.startConfigured(ctx)
	if err != nil {
		h.failures++
		return nil, err
	}
	h.cur = inst
	return inst, nil
}

// close stops the plugin; it is idempotent.
func (h *host) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	if h.cur != nil {
		h.cur.stop()
		h.cur = nil
	}
	return nil
}

// errorf builds an *Error; with a dead instance it carries the exit status and stderr.
func (h *host) errorf(inst *instance, op string, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	e = &Error{Plugin: h.spec.path, Kind: kindName(h.spec.kind), Op: op, Err: err}
	if inst != nil {
		e.Exit, e.Stderr = inst.report()
	}
	return e
}

// name is the plugin's name for metrics ("rewards/<name>"): its Describe name, else the file name
// without extension.
func (h *host) name() string {
	if h.describe.Name != "" {
		return h.describe.Name
	}
	base := filepath.Base(h.spec.path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}
