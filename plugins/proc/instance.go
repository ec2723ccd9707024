package proc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/grpo-dev/grpo/sdk/proto/pluginpb"
	"github.com/grpo-dev/grpo/sdk/wire"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc"
)

// instance is one running plugin process and its gRPC connection.
type instance struct {
	client   *plugin.Client
	conn     *grpc.ClientConn
	runner   *processRunner
	stderr   *lineRing
	protocol int  // negotiated application protocol version
	mtls     bool // the plugin answered go-plugin's AutoMTLS certificate
	describe wire.Describe
}

// spec says which executable to start and how.
type spec struct {
	path string // absolute
	kind string // expected kind; "" accepts any (Inspect)
	opts Options
}

// start spawns the plugin, completes the handshake and calls Describe. It returns an *Error with
// ErrStart (and the process's exit status and stderr) when any step fails.
func start(ctx context.Context, s spec) (*instance, error) {
	fail := func(inst *instance, err error) (*instance, error) {
		e := &Error{Plugin: s.path, Kind: kindName(s.kind), Op: "start", Err: fmt.Errorf("%w: %w", ErrStart, err)}
		if inst != nil {
			inst.kill()
			e.Exit, e.Stderr = inst.report()
		}
		return nil, e
	}
	if err := checkExecutable(s.path, s.opts.SHA256); err != nil {
		return fail(nil, err)
	}

	inst := &instance{stderr: newLineRing(stderrLines)}
	base := filepath.Base(s.path)
	pluginLog := s.opts.Logger.With("plugin", base)
	cookies := cookiesFor(s.kind)
	cfg := &plugin.ClientConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  pluginpb.ProtocolVersion,
			MagicCookieKey:   cookies[0].Key,
			MagicCookieValue: cookies[0].Value,
		},
		VersionedPlugins: map[int]plugin.PluginSet{
			pluginpb.ProtocolVersion: {"grpo": connPlugin{}},
		},
		RunnerFunc: func(_ hclog.Logger, cmd *exec.Cmd, _ string) (runner.Runner, error) {
			// go-plugin hands over an empty command carrying the handshake environment.
			c := exec.Command(s.path, s.opts.Args...)
			c.Env = append(cmd.Env, s.opts.Env...)
			for _, ck := range cookies[1:] { // Inspect: let the plugin pick its own kind
				c.Env = append(c.Env, ck.Key+"="+ck.Value)
			}
			c.Stdin = nil // never share grpo's stdin with a plugin
			r, err := newProcessRunner(c)
			inst.runner = r
			return r, err
		},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         !s.opts.NoMTLS,
		StartTimeout:     s.opts.StartTimeout,
		SkipHostEnv:      s.opts.SkipHostEnv,
		Logger:           newSlogAdapter(s.opts.Logger, base),
		// Raw stderr, for crash reports (go-plugin also parses it into the log).
		Stderr: inst.stderr,
		// What a Go plugin writes to os.Stdout/os.Stderr arrives over go-plugin's stdio stream.
		SyncStdout: lineWriter(func(l string) { pluginLog.Info(l, "stream", "stdout") }),
		SyncStderr: io.MultiWriter(inst.stderr, lineWriter(func(l string) { pluginLog.Info(l, "stream", "stderr") })),
	}
	inst.client = plugin.NewClient(cfg)

	began := time.Now()
	rpc, err := inst.client.Client()
	if err != nil {
		return fail(inst, err)
	}
	g, ok := rpc.(*plugin.GRPCClient)
	if !ok {
		return fail(inst, fmt.Errorf("plugin did not speak gRPC"))
	}
	inst.conn = g.Conn
	inst.protocol = inst.client.NegotiatedVersion()
	inst.mtls = cfg.TLSConfig != nil && cfg.TLSConfig.RootCAs != nil
	if !s.opts.NoMTLS && !inst.mtls {
		return fail(inst, fmt.Errorf("the plugin did not present a TLS certificate for go-plugin's "+
			"AutoMTLS; update its SDK, or turn mTLS off for this plugin (NoMTLS)"))
	}

	dctx, cancel := context.WithTimeout(ctx, s.opts.StartTimeout)
	defer cancel()
	out, err := pluginpb.NewPluginClient(inst.conn).Describe(dctx, &pluginpb.JSON{Json: []byte("{}")})
	if err != nil {
		return fail(inst, fmt.Errorf("describe: %w", err))
	}
	if err := json.Unmarshal(out.Json, &inst.describe); err != nil {
		return fail(inst, fmt.Errorf("describe: reply is not a JSON object: %w", err))
	}
	if s.kind != "" && inst.describe.Kind != s.kind {
		return fail(inst, fmt.Errorf("describe says kind %q, but it was started as a %s plugin",
			inst.describe.Kind, s.kind))
	}
	s.opts.Logger.Info("plugin started", "plugin", base, "kind", inst.describe.Kind,
		"name", inst.describe.Name, "pid", inst.runner.pid(), "protocol", inst.protocol,
		"mtls", inst.mtls, "took", time.Since(began).Round(time.Millisecond))
	return inst, nil
}

// configure sends the settings table; an error reply is an ErrStart (bad settings are a start-up
// problem, reported before training begins).
func (inst *instance) configure(ctx context.Context, settings []byte, timeout time.Duration) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := pluginpb.NewPluginClient(inst.conn).Configure(cctx, &pluginpb.JSON{Json: settings})
	if err != nil {
		return fmt.Errorf("%w: configure: %w", ErrStart, err)
	}
	var st wire.Status
	if err := json.Unmarshal(out.Json, &st); err != nil {
		return fmt.Errorf("%w: configure: reply is not JSON: %w", ErrStart, err)
	}
	if st.Error != "" {
		return fmt.Errorf("%w: configure: the plugin rejected its settings: %s", ErrStart, st.Error)
	}
	return nil
}

// kill SIGKILLs the process (a hung handler cannot be trusted to stop) and releases go-plugin's
// client, which reaps the process.
func (inst *instance) kill() {
	if inst.runner != nil {
		_ = inst.runner.Kill(context.Background())
	}
	inst.client.Kill()
}

// stop asks the plugin to shut down (go-plugin's GRPCController.Shutdown), waits up to 2 s for
// it to exit, then SIGKILLs it.
func (inst *instance) stop() { inst.client.Kill() }

// report waits briefly for a dying process to be reaped and returns its exit status and last
// stderr lines.
func (inst *instance) report() (exit string, stderr []string) {
	if inst.runner != nil {
		select {
		case <-inst.runner.done:
		case <-time.After(time.Second):
		}
		if st, ok := inst.runner.exitStatus(); ok {
			exit = st
		}
	}
	return exit, inst.stderr.Last()
}

// connPlugin hands go-plugin's gRPC connection back to this package, which builds its own
// clients from sdk/proto.
type connPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (connPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return fmt.Errorf("plugins/proc is a host; plugins serve with sdk/go/grpoproc")
}

func (connPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return c, nil
}

// cookiesFor returns the magic cookie of kind first; for Inspect (kind ""), every kind's.
func cookiesFor(kind string) []pluginpb.Cookie {
	if kind != "" {
		return []pluginpb.Cookie{pluginpb.Cookies[kind]}
	}
	return []pluginpb.Cookie{
		pluginpb.Cookies[wire.KindReward],
		pluginpb.Cookies[wire.KindTemplate],
		pluginpb.Cookies[wire.KindGenerator],
	}
}

func kindName(kind string) string {
	if kind == "" {
		return "process"
	}
	return kind
}

// checkExecutable fails early, with the path in the message, for a missing or non-executable
// file or a checksum mismatch.
func checkExecutable(path, sum string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file (chmod +x it, or give a .wasm module)", path)
	}
	if sum == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, sum) {
		return fmt.Errorf("sha256 of %s is %s, the configuration expects %s", path, got, sum)
	}
	return nil
}

// logCrash reports a dead or killed plugin in grpo's log.
func logCrash(l *slog.Logger, e *Error) {
	l.Warn("plugin failed", "plugin", e.Plugin, "kind", e.Kind, "op", e.Op, "error", e.Err,
		"exit", e.Exit, "stderr", strings.Join(e.Stderr, "\n"))
}
