package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/plugins"
)

// pluginHostFlags are the plugin host flags shared by `grpo reward` and `grpo bench reward`.
// Each maps onto one plugins.Options field and one config key (pluginOptions does the mapping,
// in one place, so that core/config overrides can take the same route).
func pluginHostFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "deadline of one plugin call (config plugin_timeout)"},
		&cli.IntFlag{Name: "memory-limit-mb", Value: 512, Usage: "memory cap of one WASM instance (config plugin_memory_limit_mb)"},
		&cli.StringFlag{Name: "sandbox", Value: "inprocess", Usage: `"inprocess" or "process": host WASM plugins in a child process killed on a missed deadline (config plugin_sandbox)`},
		&cli.IntFlag{Name: "workers", Usage: "instances per plugin scoring in parallel (default: number of CPUs)"},
		&cli.StringFlag{Name: "cache-dir", Usage: "WASM compilation cache (default $XDG_CACHE_HOME/grpo/wazero; - for none)"},
	}
}

// pluginOptions maps the flags (and key=value overrides already applied to them) to plugins.Options.
func pluginOptions(cmd *cli.Command) (plugins.Options, error) {
	o := plugins.Options{
		Timeout:       cmd.Duration("timeout"),
		MemoryLimitMB: cmd.Int("memory-limit-mb"),
		Sandbox:       cmd.String("sandbox"),
		Workers:       cmd.Int("workers"),
		CacheDir:      cmd.String("cache-dir"),
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	if o.Sandbox != "inprocess" && o.Sandbox != "process" {
		return o, fmt.Errorf(`--sandbox %q: want "inprocess" or "process"`, o.Sandbox)
	}
	if o.Timeout <= 0 || o.MemoryLimitMB <= 0 {
		return o, fmt.Errorf("--timeout and --memory-limit-mb must be positive")
	}
	return o, nil
}

// applyOverrides applies key=value arguments for the plugin config keys to the flags:
// plugin_timeout (seconds), plugin_memory_limit_mb, plugin_sandbox, reward_weights ([a, b]).
func applyOverrides(cmd *cli.Command, args []string) error {
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("argument %q: want key=value", a)
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		var err error
		switch strings.TrimSpace(k) {
		case "plugin_timeout":
			var secs float64
			if secs, err = strconv.ParseFloat(v, 64); err == nil {
				err = cmd.Set("timeout", (time.Duration(secs * float64(time.Second))).String())
			}
		case "plugin_memory_limit_mb":
			err = cmd.Set("memory-limit-mb", v)
		case "plugin_sandbox":
			err = cmd.Set("sandbox", v)
		case "reward_weights":
			err = cmd.Set("weights", strings.Trim(v, "[] "))
		default:
			return fmt.Errorf("key %q: grpo reward takes plugin_timeout, plugin_memory_limit_mb, plugin_sandbox and reward_weights", k)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
	}
	return nil
}
