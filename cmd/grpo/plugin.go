package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/plugins/proc"
	"github.com/grpo-dev/grpo/plugins/wasm"
	"github.com/grpo-dev/grpo/sdk"
)

// `grpo plugin inspect FILE.wasm` and `grpo plugin new --lang LANG NAME`.
func init() {
	register(&cli.Command{
		Name:  "plugin",
		Usage: "inspect a WASM plugin or start a new one",
		Commands: []*cli.Command{
			{
				Name:      "inspect",
				Usage:     "show a plugin's self-description (and, for .wasm, its imports, exports and ABI version)",
				ArgsUsage: "FILE.wasm | EXECUTABLE",
				Flags:     pluginHostFlags(),
				Action:    inspectPlugin,
			},
			{
				Name:      "new",
				Usage:     "create a reward plugin project that builds and scores out of the box",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "lang", Value: "go", Usage: "go, c, rust or assemblyscript"},
					&cli.StringFlag{Name: "dir", Usage: "where to create it (default ./NAME)"},
				},
				Action: newPlugin,
			},
		},
	})
}

func inspectPlugin(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Len() != 1 {
		return fmt.Errorf("usage: grpo plugin inspect FILE.wasm")
	}
	opts, err := pluginOptions(cmd, nil)
	if err != nil {
		return err
	}
	if !strings.HasSuffix(cmd.Args().First(), ".wasm") {
		return inspectProcess(ctx, cmd.Args().First())
	}
	info, err := wasm.Inspect(ctx, cmd.Args().First(), wasm.Options{Timeout: opts.Timeout, MemoryLimitMB: opts.MemoryLimitMB,
		Sandbox: opts.Sandbox, CacheDir: opts.CacheDir, Logger: opts.Logger})
	if err != nil {
		return err
	}
	w := os.Stdout
	fmt.Fprintf(w, "file:     %s (%d bytes)\n", info.Path, info.Size)
	fmt.Fprintf(w, "memory:   %s\n", info.Memory)
	fmt.Fprintln(w, "imports:")
	for _, s := range info.Imports {
		fmt.Fprintf(w, "  %s.%s%s\n", s.Module, s.Name, s.Signature)
	}
	fmt.Fprintln(w, "exports:")
	for _, s := range info.Exports {
		fmt.Fprintf(w, "  %s%s\n", s.Name, s.Signature)
	}
	if info.OpenErr != nil {
		fmt.Fprintf(w, "plugin:   NOT USABLE: %v\n", info.OpenErr)
		return fmt.Errorf("%s is not a usable grpo plugin", info.Path)
	}
	var kinds []string
	if info.Reward {
		kinds = append(kinds, "reward")
	}
	if info.Render {
		kinds = append(kinds, "template")
	}
	abi := info.ABI
	if abi == "grpo-wasm" {
		abi = "grpo-wasm v1"
	}
	fmt.Fprintf(w, "abi:      %s\n", abi)
	fmt.Fprintf(w, "kind:     %s\n", strings.Join(kinds, ", "))
	fmt.Fprintf(w, "name:     %s\nversion:  %s\n", info.Describe.Name, info.Describe.Version)
	if info.Describe.Description != "" {
		fmt.Fprintf(w, "about:    %s\n", info.Describe.Description)
	}
	return nil
}

// inspectProcess starts a go-plugin executable and prints what it says about itself.
func inspectProcess(ctx context.Context, path string) error {
	info, err := proc.Inspect(ctx, path)
	if err != nil {
		return err
	}
	fmt.Printf("file:     %s (pid %d, started in %s)\nabi:      go-plugin protocol %d, mTLS %v\n",
		info.Path, info.PID, info.Startup.Round(time.Millisecond), info.Protocol, info.MTLS)
	fmt.Printf("kind:     %s\nname:     %s\nversion:  %s\n", info.Describe.Kind, info.Describe.Name, info.Describe.Version)
	if info.Describe.Description != "" {
		fmt.Printf("about:    %s\n", info.Describe.Description)
	}
	return nil
}

func newPlugin(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Len() != 1 {
		return fmt.Errorf("usage: grpo plugin new --lang go|c|rust|assemblyscript NAME")
	}
	name := cmd.Args().First()
	dir := cmd.String("dir")
	if dir == "" {
		dir = name
	}
	if err := sdk.Scaffold(dir, cmd.String("lang"), name); err != nil {
		return err
	}
	fmt.Printf("created %s (%s): cd %s && ./build.sh && grpo reward --plugin %s.wasm --data data.jsonl\n",
		dir, cmd.String("lang"), dir, filepath.Join(".", name))
	return nil
}
