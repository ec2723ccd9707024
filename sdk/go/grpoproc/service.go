package grpoproc

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/grpo-dev/grpo/sdk/proto/pluginpb"
	"github.com/grpo-dev/grpo/sdk/wire"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// grpcPlugin registers the services of one plugin kind on go-plugin's gRPC server. A plugin
// executable only serves; GRPCClient is the host's side and is never called here.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	svc  *service
	kind string
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterPluginServer(s, p.svc)
	switch p.kind {
	case wire.KindReward:
		pluginpb.RegisterRewardServer(s, rewardServer{service: p.svc})
	case wire.KindTemplate:
		pluginpb.RegisterTemplateServer(s, templateServer{service: p.svc})
	case wire.KindGenerator:
		pluginpb.RegisterGeneratorServer(s, generatorServer{service: p.svc})
	}
	return nil
}

func (p *grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, fmt.Errorf("grpoproc serves plugins; the host side is plugins/proc")
}

// service holds the author's functions. Calls may arrive concurrently (gRPC serves each on its
// own goroutine); grpo's host sends one call at a time per plugin.
type service struct {
	pluginpb.UnimplementedPluginServer
	config   config
	log      *slog.Logger
	reward   RewardFunc
	template TemplateFunc
	generate GenerateFunc
}

func (s *service) Describe(context.Context, *pluginpb.JSON) (*pluginpb.JSON, error) {
	return reply(s.config.describe)
}

func (s *service) Configure(_ context.Context, in *pluginpb.JSON) (*pluginpb.JSON, error) {
	var settings map[string]any
	if err := json.Unmarshal(in.Json, &settings); err != nil {
		return reply(wire.Status{Error: fmt.Sprintf("settings are not a JSON object: %v", err)})
	}
	if s.config.configure == nil {
		return reply(wire.Status{})
	}
	err := guard(s.log, "configure", func() error { return s.config.configure(settings) })
	if err != nil {
		return reply(wire.Status{Error: err.Error()})
	}
	return reply(wire.Status{})
}

type rewardServer struct {
	*service
	pluginpb.UnimplementedRewardServer
}

func (s rewardServer) Score(ctx context.Context, in *pluginpb.JSON) (*pluginpb.JSON, error) {
	var b wire.Batch
	if err := json.Unmarshal(in.Json, &b); err != nil {
		return reply(wire.Result{Error: fmt.Sprintf("batch is not valid JSON: %v", err)})
	}
	var res wire.Result
	err := guard(s.log, "score", func() (err error) { res, err = s.reward(ctx, b); return err })
	if err != nil {
		return reply(wire.Result{Error: err.Error()})
	}
	return reply(res)
}

type templateServer struct {
	*service
	pluginpb.UnimplementedTemplateServer
}

func (s templateServer) Render(ctx context.Context, in *pluginpb.JSON) (*pluginpb.JSON, error) {
	var r wire.RenderRequest
	if err := json.Unmarshal(in.Json, &r); err != nil {
		return reply(wire.RenderResult{Error: fmt.Sprintf("render request is not valid JSON: %v", err)})
	}
	var res wire.RenderResult
	err := guard(s.log, "render", func() (err error) { res, err = s.template(ctx, r); return err })
	if err != nil {
		return reply(wire.RenderResult{Error: err.Error()})
	}
	return reply(res)
}

type generatorServer struct {
	*service
	pluginpb.UnimplementedGeneratorServer
}

func (s generatorServer) Generate(ctx context.Context, in *pluginpb.JSON) (*pluginpb.JSON, error) {
	var r wire.GenerateRequest
	if err := json.Unmarshal(in.Json, &r); err != nil {
		return reply(wire.GenerateResult{Error: fmt.Sprintf("generate request is not valid JSON: %v", err)})
	}
	var res wire.GenerateResult
	err := guard(s.log, "generate", func() (err error) { res, err = s.generate(ctx, r); return err })
	if err != nil {
		return reply(wire.GenerateResult{Error: err.Error()})
	}
	return reply(res)
}

func (s generatorServer) SyncWeights(ctx context.Context, in *pluginpb.JSON) (*pluginpb.JSON, error) {
	if s.config.syncWeights == nil {
		return reply(wire.Status{Error: "this backend does not update weights (no sync_weights capability)"})
	}
	var r wire.SyncWeightsRequest
	if err := json.Unmarshal(in.Json, &r); err != nil {
		return reply(wire.Status{Error: fmt.Sprintf("sync_weights request is not valid JSON: %v", err)})
	}
	if err := guard(s.log, "sync_weights", func() error { return s.config.syncWeights(ctx, r) }); err != nil {
		return reply(wire.Status{Error: err.Error()})
	}
	return reply(wire.Status{})
}

// guard runs an author's function and turns a panic into an error (with the stack in the log),
// so one bad input fails its batch instead of killing the process and every batch after it.
func guard(log *slog.Logger, op string, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("panic in plugin "+op, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic in %s: %v", op, p)
		}
	}()
	return f()
}

func reply(v any) (*pluginpb.JSON, error) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only reachable through values JSON cannot carry (NaN or ±Inf rewards): say so instead
		// of failing the RPC, which the host would read as a crash.
		b, _ = json.Marshal(wire.Status{Error: fmt.Sprintf("cannot encode the reply as JSON: %v "+
			"(use nil for \"no score\", never NaN or Inf)", err)})
	}
	return &pluginpb.JSON{Json: b}, nil
}
