// Package builtin holds the rewards and templates compiled into the grpo binary, chosen in a
// configuration as "builtin:NAME". The shipped rewards are here as native Go twins of their
// .wasm plugins (same source packages, rewards/<name>/<name>reward): builtin:math,
// builtin:format, builtin:length. Other packages add theirs with RegisterReward or
// RegisterTemplate from an init function.
package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/grpo-dev/grpo/core/reward"
	"github.com/grpo-dev/grpo/core/template"
	"github.com/grpo-dev/grpo/plugins/internal/batch"
	"github.com/grpo-dev/grpo/sdk/wire"
)

// BatchFunc scores a batch, like a plugin's grpo_reward but without the JSON.
type BatchFunc func(wire.Batch) wire.Result

// RewardFactory builds a reward's BatchFunc from its settings (JSON; empty = defaults).
type RewardFactory func(settings []byte) (BatchFunc, error)

// TemplateFactory builds a template from its settings (JSON; empty = defaults).
type TemplateFactory func(settings []byte) (template.Template, error)

var (
	mu        sync.RWMutex
	rewards   = map[string]RewardFactory{}
	templates = map[string]TemplateFactory{}
)

// RegisterReward adds a built-in reward; registering a name twice panics (a programming error).
func RegisterReward(name string, f RewardFactory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := rewards[name]; dup {
		panic("builtin: reward " + name + " registered twice")
	}
	rewards[name] = f
}

// RegisterTemplate adds a built-in template.
func RegisterTemplate(name string, f TemplateFactory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := templates[name]; dup {
		panic("builtin: template " + name + " registered twice")
	}
	templates[name] = f
}

// Rewards lists the built-in reward names.
func Rewards() []string {
	mu.RLock()
	defer mu.RUnlock()
	return sortedNames(rewards)
}

// Templates lists the built-in template names.
func Templates() []string {
	mu.RLock()
	defer mu.RUnlock()
	return sortedNames(templates)
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// OpenReward builds the built-in reward name with settings.
func OpenReward(name string, settings map[string]any) (reward.Reward, error) {
	mu.RLock()
	f, ok := rewards[name]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("plugin builtin:%s: no such built-in reward (built-in rewards: %s)", name, strings.Join(Rewards(), ", "))
	}
	raw, err := settingsJSON(settings)
	if err != nil {
		return nil, fmt.Errorf("plugin builtin:%s: %w", name, err)
	}
	fn, err := f(raw)
	if err != nil {
		return nil, fmt.Errorf("plugin builtin:%s: %w", name, err)
	}
	return &Reward{name: name, fn: fn}, nil
}

// OpenTemplate builds the built-in template name with settings.
func OpenTemplate(name string, settings map[string]any) (template.Template, error) {
	mu.RLock()
	f, ok := templates[name]
	mu.RUnlock()
	if !ok {
		known := Templates()
		if len(known) == 0 {
			known = []string{"none"}
		}
		return nil, fmt.Errorf("plugin builtin:%s: no such built-in template (built-in templates: %s)", name, strings.Join(known, ", "))
	}
	raw, err := settingsJSON(settings)
	if err != nil {
		return nil, fmt.Errorf("plugin builtin:%s: %w", name, err)
	}
	t, err := f(raw)
	if err != nil {
		return nil, fmt.Errorf("plugin builtin:%s: %w", name, err)
	}
	return t, nil
}

func settingsJSON(settings map[string]any) ([]byte, error) {
	if len(settings) == 0 {
		return nil, nil
	}
	raw, err := json.Marshal(settings)
	if err != nil {
		return nil, fmt.Errorf("settings are not representable as JSON: %w", err)
	}
	return raw, nil
}

// Reward adapts a BatchFunc to core/reward.Reward, with the same output checks as plugin hosts.
type Reward struct {
	name string
	fn   BatchFunc
}

// Name is the built-in's name.
func (r *Reward) Name() string { return r.name }

// Close does nothing: a built-in holds no resources.
func (r *Reward) Close() error { return nil }

// Score calls the function on the whole batch (one call, offset 0).
func (r *Reward) Score(ctx context.Context, seed int64, samples []reward.Sample) (reward.Scores, error) {
	if err := ctx.Err(); err != nil {
		return reward.Scores{}, err
	}
	res := r.fn(wire.Batch{ABI: wire.ABIVersion, Seed: seed, Items: batch.Items(samples)})
	if res.Error != "" {
		return reward.Scores{}, fmt.Errorf("plugin builtin:%s: %s", r.name, res.Error)
	}
	if err := batch.Check(res, len(samples)); err != nil {
		return reward.Scores{}, fmt.Errorf("plugin builtin:%s: %w", r.name, err)
	}
	return batch.Merge(len(samples), []batch.Span{{Start: 0, End: len(samples)}}, []wire.Result{res}), nil
}
