package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/plugins"
)

// pluginHostFlags are the plugin host flags shared by the commands that open plugins. Each has a
// config key; a flag given on the command line wins over the key (pluginOptions does the mapping,
// in one place).
func pluginHostFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "timeout", Usage: "deadline of one plugin call (config plugin_timeout, default 30s)"},
		&cli.IntFlag{Name: "memory-limit-mb", Usage: "memory cap of one WASM instance (config plugin_memory_limit_mb, default 512)"},
		&cli.StringFlag{Name: "sandbox", Usage: `"inprocess" or "process": host WASM plugins in a child process killed on a missed deadline (config plugin_sandbox)`},
		&cli.IntFlag{Name: "workers", Usage: "instances per plugin scoring in parallel (default: number of CPUs)"},
		&cli.StringFlag{Name: "cache-dir", Usage: "WASM compilation cache (default $XDG_CACHE_HOME/grpo/wazero; - for none)"},
	}
}

// pluginOptions maps the config's plugin keys, then the flags set on the command line, to
// plugins.Options. cfg may be nil (config defaults).
func pluginOptions(cmd *cli.Command, cfg *config.Config) (plugins.Options, error) {
	if cfg == nil {
		cfg = config.Default()
	}
	level := slog.LevelInfo
	if cfg.ActivateDebuggingLogs {
		level = slog.LevelDebug
	}
	o := plugins.Options{
		Timeout:       time.Duration(cfg.PluginTimeout * float64(time.Second)),
		MemoryLimitMB: cfg.PluginMemoryLimitMB,
		Sandbox:       cfg.PluginSandbox,
		Workers:       cmd.Int("workers"),
		CacheDir:      cmd.String("cache-dir"),
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	}
	if cmd.IsSet("timeout") {
		o.Timeout = cmd.Duration("timeout")
	}
	if cmd.IsSet("memory-limit-mb") {
		o.MemoryLimitMB = cmd.Int("memory-limit-mb")
	}
	if cmd.IsSet("sandbox") {
		o.Sandbox = cmd.String("sandbox")
	}
	if o.Sandbox != "inprocess" && o.Sandbox != "process" {
		return o, fmt.Errorf(`plugin_sandbox (--sandbox) %q: want "inprocess" or "process"`, o.Sandbox)
	}
	if o.Timeout <= 0 || o.MemoryLimitMB <= 0 {
		return o, fmt.Errorf("plugin_timeout (--timeout) and plugin_memory_limit_mb (--memory-limit-mb) must be positive")
	}
	return o, nil
}
