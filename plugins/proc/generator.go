package proc

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/grpo-dev/grpo/core/generate"
	"github.com/grpo-dev/grpo/sdk/proto/pluginpb"
	"github.com/grpo-dev/grpo/sdk/wire"
	"google.golang.org/grpc"
)

// Generator is a generation backend running as a plugin process (`--backend ./my-backend`); it
// implements generate.Generator.
type Generator struct {
	h *host
	// WeightsDir is where SyncWeights writes the policy for the backend to load ("" = the system
	// temp dir); each sync uses a fresh subdirectory, deleted after the call.
	WeightsDir string
}

var _ generate.Generator = (*Generator)(nil)

// OpenGenerator starts the generation backend executable at path and sends it settings. Its
// default call timeout is 10 minutes (a generation batch is slow); set opts.Timeout to change it.
func OpenGenerator(ctx context.Context, path string, settings map[string]any, opts Options) (*Generator, error) {
	h, err := open(ctx, path, wire.KindGenerator, settings, opts.withDefaults(defaultGeneratorTimeout))
	if err != nil {
		return nil, err
	}
	return &Generator{h: h}, nil
}

// Name is the plugin's Describe name, or its file name without extension.
func (g *Generator) Name() string { return g.h.name() }

// Describe returns what the backend said about itself at start-up (capabilities included).
func (g *Generator) Describe() wire.Describe { return g.h.describe }

// Generate sends the request and validates the reply: len(Prompts)*N completions, prompt-major,
// each with a known finish reason and, when reported, one log-probability per token.
func (g *Generator) Generate(ctx context.Context, req generate.Request) ([]generate.Completion, error) {
	if req.N < 1 {
		return nil, g.h.errorf(nil, "generate", fmt.Errorf("request asks for %d completions per prompt; need at least 1", req.N))
	}
	wr := wire.GenerateRequest{
		ABI: wire.ABIVersion, N: req.N, MaxPromptTokens: req.MaxPromptTokens,
		Prompts: make([]wire.Prompt, len(req.Prompts)),
		Sampling: wire.Sampling{
			Temperature: req.Sampling.Temperature, TopP: req.Sampling.TopP, TopK: req.Sampling.TopK,
			MinP: req.Sampling.MinP, RepetitionPenalty: req.Sampling.RepetitionPenalty,
			MaxTokens: req.Sampling.MaxTokens, Seed: req.Sampling.Seed,
		},
	}
	for i, p := range req.Prompts {
		wr.Prompts[i] = wire.Prompt{Text: p.Text, IDs: p.IDs}
	}
	in, err := json.Marshal(wr)
	if err != nil {
		return nil, g.h.errorf(nil, "generate", fmt.Errorf("encoding the request: %w", err))
	}
	out, err := g.h.call(ctx, "generate", in, func(ctx context.Context, c *grpc.ClientConn, in *pluginpb.JSON) (*pluginpb.JSON, error) {
		return pluginpb.NewGeneratorClient(c).Generate(ctx, in)
	})
	if err != nil {
		return nil, err
	}
	var res wire.GenerateResult
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, g.h.errorf(nil, "generate", fmt.Errorf("%w: reply is not a wire.GenerateResult JSON: %w", ErrProtocol, err))
	}
	if res.Error != "" {
		return nil, g.h.errorf(nil, "generate", fmt.Errorf("%w: %s", ErrPlugin, res.Error))
	}
	comps, err := toCompletions(res.Completions, len(req.Prompts), req.N)
	if err != nil {
		return nil, g.h.errorf(nil, "generate", fmt.Errorf("%w: %w", ErrProtocol, err))
	}
	return comps, nil
}

func toCompletions(cs []wire.Completion, prompts, n int) ([]generate.Completion, error) {
	if len(cs) != prompts*n {
		return nil, fmt.Errorf("%d completions for %d prompts × n=%d", len(cs), prompts, n)
	}
	out := make([]generate.Completion, len(cs))
	for i, c := range cs {
		if c.Prompt != i/n {
			return nil, fmt.Errorf("completion %d belongs to prompt %d, but completions must be "+
				"prompt-major (completion j of prompt i at index i*n+j: expected prompt %d)", i, c.Prompt, i/n)
		}
		if c.FinishReason != generate.FinishStop && c.FinishReason != generate.FinishLength {
			return nil, fmt.Errorf("completion %d has finish_reason %q; want %q or %q", i,
				c.FinishReason, generate.FinishStop, generate.FinishLength)
		}
		if c.LogProbs != nil && len(c.LogProbs) != len(c.IDs) {
			return nil, fmt.Errorf("completion %d has %d logprobs for %d token ids", i, len(c.LogProbs), len(c.IDs))
		}
		out[i] = generate.Completion{
			Prompt: c.Prompt, PromptIDs: c.PromptIDs, IDs: c.IDs, Text: c.Text,
			FinishReason: c.FinishReason, LogProbs: c.LogProbs,
		}
	}
	return out, nil
}

// SyncWeights writes the source's weights in the Hugging Face layout to a fresh directory and
// asks the backend to load them; the directory is removed afterwards. A backend without the
// "sync_weights" capability gets generate.ErrUnsupported without a call.
func (g *Generator) SyncWeights(ctx context.Context, src generate.WeightSource) error {
	if !slices.Contains(g.h.describe.Capabilities, wire.CapSyncWeights) {
		return fmt.Errorf("%s generator plugin %s: %w (it does not list the %q capability)",
			g.Name(), g.h.spec.path, generate.ErrUnsupported, wire.CapSyncWeights)
	}
	dir, err := os.MkdirTemp(g.WeightsDir, "grpo-weights-")
	if err != nil {
		return g.h.errorf(nil, "sync_weights", fmt.Errorf("creating the weights directory: %w", err))
	}
	defer os.RemoveAll(dir)
	if err := src.SaveHF(dir); err != nil {
		return g.h.errorf(nil, "sync_weights", fmt.Errorf("saving step %d weights to %s: %w", src.Step(), dir, err))
	}
	in, err := json.Marshal(wire.SyncWeightsRequest{ABI: wire.ABIVersion, Dir: dir, Step: src.Step()})
	if err != nil {
		return g.h.errorf(nil, "sync_weights", err)
	}
	out, err := g.h.call(ctx, "sync_weights", in, func(ctx context.Context, c *grpc.ClientConn, in *pluginpb.JSON) (*pluginpb.JSON, error) {
		return pluginpb.NewGeneratorClient(c).SyncWeights(ctx, in)
	})
	if err != nil {
		return err
	}
	var st wire.Status
	if err := json.Unmarshal(out, &st); err != nil {
		return g.h.errorf(nil, "sync_weights", fmt.Errorf("%w: reply is not JSON: %w", ErrProtocol, err))
	}
	if st.Error != "" {
		return g.h.errorf(nil, "sync_weights", fmt.Errorf("%w: %s", ErrPlugin, st.Error))
	}
	return nil
}

// Close stops the backend process.
func (g *Generator) Close() error { return g.h.close() }
