package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/plugins/wasm"
)

// The hidden subcommand a WASM plugin's sandbox child process runs (plugin_sandbox="process"):
// frames on stdin/stdout, log lines as JSON on stderr.
func init() {
	register(&cli.Command{
		Name:   wasm.WorkerSubcommand,
		Hidden: true,
		Usage:  "internal: host one WASM plugin for a sandboxed parent",
		Action: func(ctx context.Context, cmd *cli.Command) error {
			return wasm.ServeWorker(os.Stdin, os.Stdout, slog.New(slog.NewJSONHandler(os.Stderr, nil)))
		},
	})
}
