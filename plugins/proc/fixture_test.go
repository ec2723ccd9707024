package proc

// Fixture plugins: the test binary re-executes itself as a plugin when GRPO_PROC_FIXTURE names a
// mode, so the fault tests need no build step. Reward fixtures obey sentinel completions.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grpo-dev/grpo/sdk/go/grpoproc"
	"github.com/grpo-dev/grpo/sdk/proto/pluginpb"
	"github.com/grpo-dev/grpo/sdk/wire"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

const fixtureEnv = "GRPO_PROC_FIXTURE"

func TestMain(m *testing.M) {
	if mode := os.Getenv(fixtureEnv); mode != "" {
		runFixture(mode)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fixtureOpts starts the test binary as the fixture plugin of the given mode.
func fixtureOpts(mode string) Options {
	return Options{
		Env:     []string{fixtureEnv + "=" + mode},
		Timeout: 5 * time.Second,
		Backoff: 10 * time.Millisecond,
	}
}

func runFixture(mode string) {
	switch mode {
	case "reward":
		grpoproc.ServeReward(fixtureReward, grpoproc.WithDescribe(wire.Describe{Name: "fixture-reward", Version: "0.1"}),
			grpoproc.WithConfigure(func(s map[string]any) error {
				if v, ok := s["reject"]; ok {
					return fmt.Errorf("setting reject=%v is not allowed", v)
				}
				return nil
			}))
	case "exit_at_start":
		fmt.Fprintln(os.Stderr, "fixture: cannot find my model file, giving up")
		os.Exit(2)
	case "bad_handshake":
		fmt.Println("hello from a chatty plugin") // stdout is reserved for the handshake
		grpoproc.ServeReward(fixtureReward)
	case "protocol_v2":
		serveRaw(2, rawReward{kind: "reward", reply: `{"rewards":[]}`})
	case "garbage":
		serveRaw(pluginpb.ProtocolVersion, rawReward{kind: "reward", reply: "this is not JSON"})
	case "wrong_kind":
		serveRaw(pluginpb.ProtocolVersion, rawReward{kind: "template"})
	case "no_mtls":
		os.Unsetenv("PLUGIN_CLIENT_CERT") // a plugin stack that cannot do AutoMTLS
		grpoproc.ServeReward(fixtureReward)
	case "template":
		grpoproc.ServeTemplate(func(_ context.Context, r wire.RenderRequest) (wire.RenderResult, error) {
			switch r.Vars["mode"] {
			case "both":
				return wire.RenderResult{Prompt: "x", Messages: []wire.Message{{Role: "user", Content: "x"}}}, nil
			case "chat":
				return wire.RenderResult{Messages: []wire.Message{{Role: "user", Content: "Q: " + r.Vars["question"]}}}, nil
			}
			return wire.RenderResult{Prompt: fmt.Sprintf("Q: %s (row %v)", r.Vars["question"], r.Row["id"])}, nil
		})
	case "generator":
		step := int64(-1)
		grpoproc.ServeGenerator(func(_ context.Context, r wire.GenerateRequest) (wire.GenerateResult, error) {
			var res wire.GenerateResult
			for i, p := range r.Prompts {
				for j := 0; j < r.N; j++ {
					c := wire.Completion{Prompt: i, Text: fmt.Sprintf("step=%d %s #%d", step, p.Text, j), FinishReason: "stop"}
					if p.Text == "BAD_ORDER" {
						c.Prompt = 0
					}
					res.Completions = append(res.Completions, c)
				}
			}
			return res, nil
		}, grpoproc.WithSyncWeights(func(_ context.Context, r wire.SyncWeightsRequest) error {
			b, err := os.ReadFile(r.Dir + "/config.json")
			if err != nil {
				return err
			}
			if !strings.Contains(string(b), "qwen2") {
				return fmt.Errorf("config.json does not describe a qwen2 model: %s", b)
			}
			step = r.Step
			return nil
		}))
	case "generator_nosync":
		grpoproc.ServeGenerator(func(context.Context, wire.GenerateRequest) (wire.GenerateResult, error) {
			return wire.GenerateResult{Error: "not used"}, nil
		})
	case "host":
		runFixtureHost()
	default:
		fmt.Fprintf(os.Stderr, "unknown fixture mode %q\n", mode)
		os.Exit(1)
	}
}

// fixtureReward scores len(completion) and obeys sentinels.
func fixtureReward(_ context.Context, b wire.Batch) (wire.Result, error) {
	res := wire.Result{}
	for _, it := range b.Items {
		c := it.Completion
		switch {
		case c == "CRASH":
			// Log writes to the real stderr synchronously; os.Stderr is go-plugin's asynchronous
			// stdio stream and would lose a line written just before exiting.
			grpoproc.Log().Error("fixture: about to crash on purpose")
			os.Exit(3)
		case strings.HasPrefix(c, "CRASH_ONCE:"):
			marker := strings.TrimPrefix(c, "CRASH_ONCE:")
			if _, err := os.Stat(marker); errors.Is(err, os.ErrNotExist) {
				_ = os.WriteFile(marker, nil, 0o644)
				grpoproc.Log().Error("fixture: crashing once")
				os.Exit(4)
			}
		case c == "HANG":
			time.Sleep(time.Hour)
		case c == "PANIC":
			panic("fixture panic")
		case c == "ERROR":
			return wire.Result{}, fmt.Errorf("fixture refuses this batch")
		case c == "WRONG_COUNT":
			return wire.Result{Rewards: []*float64{wire.Float(1)}}, nil
		case c == "NO_SCORE":
			res.Rewards = append(res.Rewards, nil)
			continue
		case strings.HasPrefix(c, "LOG:"):
			grpoproc.Log().Warn(strings.TrimPrefix(c, "LOG:"), "answer", 42)
		}
		res.Rewards = append(res.Rewards, wire.Float(float64(len(c))))
	}
	return res, nil
}

// serveRaw serves a reward with go-plugin directly, for fixtures the SDK would not produce.
func serveRaw(version int, r rawReward) {
	ck := pluginpb.Cookies[wire.KindReward]
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  plugin.HandshakeConfig{ProtocolVersion: uint(version), MagicCookieKey: ck.Key, MagicCookieValue: ck.Value},
		VersionedPlugins: map[int]plugin.PluginSet{version: {"reward": rawPlugin{r: r}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}

type rawPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	r rawReward
}

func (p rawPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterPluginServer(s, p.r)
	pluginpb.RegisterRewardServer(s, p.r)
	return nil
}

func (rawPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, nil
}

type rawReward struct {
	pluginpb.UnimplementedPluginServer
	pluginpb.UnimplementedRewardServer
	kind  string
	reply string
}

func (r rawReward) Describe(context.Context, *pluginpb.JSON) (*pluginpb.JSON, error) {
	return &pluginpb.JSON{Json: []byte(`{"name":"raw","kind":"` + r.kind + `"}`)}, nil
}

func (rawReward) Configure(context.Context, *pluginpb.JSON) (*pluginpb.JSON, error) {
	return &pluginpb.JSON{Json: []byte(`{}`)}, nil
}

func (r rawReward) Score(context.Context, *pluginpb.JSON) (*pluginpb.JSON, error) {
	return &pluginpb.JSON{Json: []byte(r.reply)}, nil
}

// runFixtureHost plays grpo: it opens a reward plugin, prints the plugin's pid and waits to be
// killed. TestNoOrphanWhenHostKilled SIGKILLs it and checks that the plugin dies too.
func runFixtureHost() {
	r, err := OpenReward(context.Background(), os.Args[0], nil, fixtureOpts("reward"))
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	r.h.mu.Lock()
	pid := r.h.cur.runner.pid()
	r.h.mu.Unlock()
	fmt.Println(strconv.Itoa(pid))
	time.Sleep(time.Hour)
}
