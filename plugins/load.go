// Package plugins opens the rewards and templates a configuration names, whatever their kind:
// a path ending in .wasm runs in the WASM host (plugins/wasm), "builtin:NAME" is compiled into
// the binary (plugins/builtin), and any other path is an executable run as a go-plugin process.
// The trainer receives core/reward.Reward and core/template.Template values and never learns
// which kind it got.
package plugins

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/grpo-dev/grpo/core/reward"
	"github.com/grpo-dev/grpo/core/template"
	"github.com/grpo-dev/grpo/plugins/builtin"
	"github.com/grpo-dev/grpo/plugins/internal/batch"
	"github.com/grpo-dev/grpo/plugins/proc"
	"github.com/grpo-dev/grpo/plugins/wasm"
)

// Spec names one plugin and its settings (a [[rewards]] entry: plugin = "...", settings = {...}).
type Spec struct {
	Plugin   string
	Settings map[string]any
}

// Options are the host settings shared by every plugin of a run (config keys plugin_timeout,
// plugin_memory_limit_mb, plugin_sandbox). Zero values take each host's defaults.
type Options struct {
	Timeout       time.Duration // per plugin call (WASM and process plugins); default 30 s
	MemoryLimitMB int           // per WASM instance; default 512
	Sandbox       string        // "inprocess" (default) or "process" (WASM module in a killable child process)
	Workers       int           // parallel instances per plugin; default: number of CPUs
	ChunkSize     int           // items per WASM call; default 256
	CacheDir      string        // WASM compilation cache; default $XDG_CACHE_HOME/grpo/wazero
	Logger        *slog.Logger  // plugin logs; default slog.Default()
}

const builtinPrefix = "builtin:"

func (o Options) wasm(settings map[string]any) wasm.Options {
	return wasm.Options{
		Timeout: o.Timeout, MemoryLimitMB: o.MemoryLimitMB, Sandbox: o.Sandbox, Workers: o.Workers,
		ChunkSize: o.ChunkSize, CacheDir: o.CacheDir, Logger: o.logger(), Settings: settings,
	}
}

func (o Options) proc() proc.Options {
	return proc.Options{Timeout: o.Timeout, Logger: o.logger()}
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

// OpenReward opens the reward plugin spec names.
func OpenReward(ctx context.Context, spec Spec, opts Options) (reward.Reward, error) {
	switch p := spec.Plugin; {
	case p == "":
		return nil, fmt.Errorf("reward plugin: empty plugin path (set plugin = \"rewards/math.wasm\", \"builtin:NAME\" or an executable)")
	case strings.HasPrefix(p, builtinPrefix):
		return builtin.OpenReward(strings.TrimPrefix(p, builtinPrefix), spec.Settings)
	case strings.HasSuffix(p, ".wasm"):
		r, err := wasm.OpenReward(ctx, p, opts.wasm(spec.Settings))
		if err != nil {
			return nil, err
		}
		return r, nil
	default: // an executable: a go-plugin process
		r, err := proc.OpenReward(ctx, p, spec.Settings, opts.proc())
		if err != nil {
			return nil, err
		}
		return r, nil
	}
}

// OpenTemplate opens the template plugin spec names.
func OpenTemplate(ctx context.Context, spec Spec, opts Options) (template.Template, error) {
	switch p := spec.Plugin; {
	case p == "":
		return nil, fmt.Errorf("template plugin: empty plugin path")
	case strings.HasPrefix(p, builtinPrefix):
		return builtin.OpenTemplate(strings.TrimPrefix(p, builtinPrefix), spec.Settings)
	case strings.HasSuffix(p, ".wasm"):
		t, err := wasm.OpenTemplate(ctx, p, opts.wasm(spec.Settings))
		if err != nil {
			return nil, err
		}
		return t, nil
	default: // an executable: a go-plugin process
		t, err := proc.OpenTemplate(ctx, p, spec.Settings, opts.proc())
		if err != nil {
			return nil, err
		}
		return t, nil
	}
}

// OpenRewards opens several rewards; on any failure it closes those already open.
func OpenRewards(ctx context.Context, specs []Spec, opts Options) ([]reward.Reward, error) {
	var out []reward.Reward
	for _, s := range specs {
		r, err := OpenReward(ctx, s, opts)
		if err != nil {
			for _, o := range out {
				_ = o.Close()
			}
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// MarshalMessage and UnmarshalMessage are the JSON codec the plugin hosts use at the plugin
// boundary (see plugins/internal/batch); exported for benchmarks that time the host's work.
func MarshalMessage(v any) ([]byte, error) { return batch.Marshal(v) }

// UnmarshalMessage decodes a plugin's JSON output with the hosts' codec.
func UnmarshalMessage(b []byte, v any) error { return batch.Unmarshal(b, v) }
