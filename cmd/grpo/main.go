// Command grpo trains language models with GRPO (Group Relative Policy Optimization).
//
// This package only wires things together: it parses flags and configuration, builds the
// objects the core needs (models, plugins, backends) and prints progress. No algorithm lives here.
// Each subcommand is in its own file and registers itself with register.
package main

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/urfave/cli/v3"
)

// commands collects the subcommands registered by the files of this package.
var commands []*cli.Command

// register adds a subcommand; call it from an init function of the command's file.
func register(c *cli.Command) { commands = append(commands, c) }

func newApp() *cli.Command {
	sort.Slice(commands, func(i, j int) bool { return commands[i].Name < commands[j].Name })
	return &cli.Command{
		Name:  "grpo",
		Usage: "train language models with Group Relative Policy Optimization",
		Description: `grpo runs GRPO training (as in Hugging Face TRL and SakanaAI's RLT) on Qwen2/Llama
models in the Hugging Face layout. Rewards, prompt templates and generation backends are
plugins chosen by configuration: a .wasm file runs sandboxed in wazero, an executable runs as a
go-plugin process, builtin:NAME names one shipped in the binary.

Configuration is TOML (see configs/); any key can be overridden on the command line as
key=value, with TOML value syntax (temperature=0.8, reward_weights=[1.0,0.5]).`,
		Commands: commands,
	}
}

func main() {
	if err := newApp().Run(context.Background(), os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "grpo:", err)
		os.Exit(1)
	}
}
