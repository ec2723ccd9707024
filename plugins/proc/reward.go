package proc

import (
	"context"
	"fmt"
	"math"

	"github.com/grpo-dev/grpo/core/reward"
	"github.com/grpo-dev/grpo/plugins/internal/batch"
	"github.com/grpo-dev/grpo/sdk/proto/pluginpb"
	"github.com/grpo-dev/grpo/sdk/wire"
	"google.golang.org/grpc"
)

// Reward is a reward plugin process; it implements reward.Reward.
type Reward struct{ h *host }

var _ reward.Reward = (*Reward)(nil)

// OpenReward starts the reward plugin executable at path, checks that it is a reward plugin and
// sends it settings (the [[rewards]] settings table; nil for none). The process is reused by
// every Score call until Close.
func OpenReward(ctx context.Context, path string, settings map[string]any, opts Options) (*Reward, error) {
	h, err := open(ctx, path, wire.KindReward, settings, opts.withDefaults(defaultTimeout))
	if err != nil {
		return nil, err
	}
	return &Reward{h: h}, nil
}

// Name is the plugin's Describe name, or its file name without extension.
func (r *Reward) Name() string { return r.h.name() }

// Describe returns what the plugin said about itself at start-up.
func (r *Reward) Describe() wire.Describe { return r.h.describe }

// Score sends the samples as one wire.Batch and validates the reply: one value per sample, each a
// finite number or null ("no score", NaN in reward.Scores), components of the same length.
func (r *Reward) Score(ctx context.Context, seed int64, samples []reward.Sample) (reward.Scores, error) {
	b := wire.Batch{ABI: wire.ABIVersion, Seed: seed, Items: make([]wire.Item, len(samples))}
	for i, s := range samples {
		b.Items[i] = wire.Item{Prompt: s.Prompt, Completion: s.Completion, Metadata: s.Metadata}
	}
	in, err := batch.Marshal(b)
	if err != nil {
		return reward.Scores{}, r.h.errorf(nil, "score", fmt.Errorf("encoding the batch: %w "+
			"(metadata values must be JSON: no NaN, Inf, channels or functions)", err))
	}
	out, err := r.h.call(ctx, "score", in, func(ctx context.Context, c *grpc.ClientConn, in *pluginpb.JSON) (*pluginpb.JSON, error) {
		return pluginpb.NewRewardClient(c).Score(ctx, in)
	})
	if err != nil {
		return reward.Scores{}, err
	}
	if limit := outputLimit(len(in)); len(out) > limit {
		return reward.Scores{}, r.h.errorf(nil, "score", fmt.Errorf("%w: reply of %d bytes for a "+
			"%d-byte batch exceeds the %d-byte limit", ErrProtocol, len(out), len(in), limit))
	}
	var res wire.Result
	if err := batch.Unmarshal(out, &res); err != nil {
		return reward.Scores{}, r.h.errorf(nil, "score", fmt.Errorf("%w: reply is not a wire.Result JSON: %w", ErrProtocol, err))
	}
	if res.Error != "" {
		return reward.Scores{}, r.h.errorf(nil, "score", fmt.Errorf("%w: %s", ErrPlugin, res.Error))
	}
	scores, err := toScores(res, len(samples))
	if err != nil {
		return reward.Scores{}, r.h.errorf(nil, "score", fmt.Errorf("%w: %w", ErrProtocol, err))
	}
	return scores, nil
}

// outputLimit caps a reply at 16× its request plus 1 MiB (research note plugins.md §5): room for
// per-item info, not for a runaway plugin filling grpo's memory.
func outputLimit(inLen int) int { return 16*inLen + 1<<20 }

// toScores validates a Result against a batch of n items and converts null to NaN.
func toScores(res wire.Result, n int) (reward.Scores, error) {
	if len(res.Rewards) != n {
		return reward.Scores{}, fmt.Errorf("%d rewards for a batch of %d items (one value or null per item)", len(res.Rewards), n)
	}
	s := reward.Scores{Values: make([]float64, n)}
	for i, v := range res.Rewards {
		s.Values[i] = math.NaN()
		if v != nil {
			s.Values[i] = *v
		}
	}
	if len(res.Components) > 0 {
		s.Components = make(map[string][]float64, len(res.Components))
		for name, vs := range res.Components {
			if len(vs) != n {
				return reward.Scores{}, fmt.Errorf("component %q has %d values for a batch of %d items", name, len(vs), n)
			}
			c := make([]float64, n)
			for i, v := range vs {
				c[i] = math.NaN()
				if v != nil {
					c[i] = *v
				}
			}
			s.Components[name] = c
		}
	}
	if res.Info != nil {
		if len(res.Info) != n {
			return reward.Scores{}, fmt.Errorf("info has %d entries for a batch of %d items", len(res.Info), n)
		}
		s.Info = res.Info
	}
	return s, nil
}

// Close stops the plugin process.
func (r *Reward) Close() error { return r.h.close() }
