// Package grpoproc turns a Go function into a grpo process plugin: an executable that grpo starts
// through hashicorp/go-plugin and calls over gRPC (sdk/proto/grpo_plugin.proto). A reward plugin
// is a one-function main:
//
//	func main() {
//		grpoproc.ServeReward(func(ctx context.Context, b wire.Batch) (wire.Result, error) {
//			...
//		}, grpoproc.WithDescribe(wire.Describe{Name: "my-reward", Version: "1.0.0"}))
//	}
//
// Serve* never return: they serve until the host shuts the plugin down, the host dies (the
// plugin watches its parent and exits, so no orphan outlives grpo), or serving fails. AutoMTLS,
// the handshake, health checks, graceful shutdown and log forwarding come from go-plugin. Log
// through Log(): its lines reach grpo's log at their level.
//
// Run by hand (without grpo's magic cookie) the executable prints what it is and exits 1.
package grpoproc

import (
	"context"
	"fmt"
	"os"

	"github.com/grpo-dev/grpo/sdk/proto/pluginpb"
	"github.com/grpo-dev/grpo/sdk/wire"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// RewardFunc scores a batch: one reward (or nil = no score) per item. An error, or a Result with
// Error set, fails the batch with that message; it does not kill the plugin.
type RewardFunc func(ctx context.Context, b wire.Batch) (wire.Result, error)

// TemplateFunc renders a prompt.
type TemplateFunc func(ctx context.Context, r wire.RenderRequest) (wire.RenderResult, error)

// GenerateFunc samples len(r.Prompts)*r.N completions, prompt-major.
type GenerateFunc func(ctx context.Context, r wire.GenerateRequest) (wire.GenerateResult, error)

// SyncWeightsFunc loads the Hugging Face layout weights in r.Dir; the directory is deleted by the
// host once it returns.
type SyncWeightsFunc func(ctx context.Context, r wire.SyncWeightsRequest) error

// ConfigureFunc receives the plugin's settings table from grpo's configuration ([[rewards]]
// settings), once after start-up (and again after every restart) before any other call.
type ConfigureFunc func(settings map[string]any) error

// Option configures a plugin.
type Option func(*config)

type config struct {
	describe    wire.Describe
	configure   ConfigureFunc
	syncWeights SyncWeightsFunc
}

// WithDescribe sets what the plugin says about itself (name, version, description). Kind and
// capabilities are filled in by Serve*.
func WithDescribe(d wire.Describe) Option { return func(c *config) { c.describe = d } }

// WithConfigure registers the function that receives the plugin's settings.
func WithConfigure(f ConfigureFunc) Option { return func(c *config) { c.configure = f } }

// WithSyncWeights makes a generation backend accept new policy weights (capability
// "sync_weights"); without it grpo's SyncWeights reports the backend cannot update weights.
func WithSyncWeights(f SyncWeightsFunc) Option { return func(c *config) { c.syncWeights = f } }

// ServeReward serves f as a reward plugin. It never returns.
func ServeReward(f RewardFunc, opts ...Option) {
	serve(wire.KindReward, &service{reward: f}, opts)
}

// ServeTemplate serves f as a template plugin. It never returns.
func ServeTemplate(f TemplateFunc, opts ...Option) {
	serve(wire.KindTemplate, &service{template: f}, opts)
}

// ServeGenerator serves f as a generation backend plugin. It never returns.
func ServeGenerator(f GenerateFunc, opts ...Option) {
	serve(wire.KindGenerator, &service{generate: f}, opts)
}

func serve(kind string, s *service, opts []Option) {
	c := config{}
	for _, o := range opts {
		o(&c)
	}
	c.describe.Kind = kind
	if c.describe.Name == "" {
		c.describe.Name = executableName()
	}
	if c.syncWeights != nil {
		c.describe.Capabilities = append(c.describe.Capabilities, wire.CapSyncWeights)
	}
	s.config = c
	s.log = Log()

	cookie := pluginpb.Cookies[kind]
	if os.Getenv(cookie.Key) != cookie.Value {
		fmt.Fprint(os.Stderr, notStartedByGrpo(kind))
		os.Exit(1)
	}
	watchParent(s.log)

	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  pluginpb.ProtocolVersion,
			MagicCookieKey:   cookie.Key,
			MagicCookieValue: cookie.Value,
		},
		VersionedPlugins: map[int]plugin.PluginSet{
			pluginpb.ProtocolVersion: {kind: &grpcPlugin{svc: s, kind: kind}},
		},
		GRPCServer: plugin.DefaultGRPCServer,
		// go-plugin's own messages, as JSON lines on stderr that the host parses.
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "go-plugin", Level: hclog.Info, Output: os.Stderr, JSONFormat: true,
		}),
	})
	os.Exit(0)
}

// notStartedByGrpo explains what the executable is when it was run by hand, or started as the
// wrong kind (another kind's cookie is set).
func notStartedByGrpo(kind string) string {
	for k, ck := range pluginpb.Cookies {
		if k != kind && os.Getenv(ck.Key) == ck.Value {
			return fmt.Sprintf("%s is a grpo %s plugin, but grpo started it as a %s plugin: "+
				"configure it where a %s plugin is expected\n", executableName(), kind, k, kind)
		}
	}
	return fmt.Sprintf("%s is a grpo %s plugin (a go-plugin process): it is started by grpo, "+
		"not by hand. Try: grpo plugin inspect %s\n", executableName(), kind, os.Args[0])
}

func executableName() string {
	name := os.Args[0]
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[i+1:]
		}
	}
	return name
}
