package main

import (
	"sort"

	"github.com/urfave/cli/v3"
)

// benchCommands collects the `grpo bench` subcommands; each benchmark file calls registerBench
// from its init function. Benchmarks hold the speed and memory targets (never timed tests) and
// print results ready to paste into BENCHMARKS.md (date, machine, card, peer, ratio).
var benchCommands []*cli.Command

func registerBench(c *cli.Command) { benchCommands = append(benchCommands, c) }

func init() {
	register(&cli.Command{
		Name:  "bench",
		Usage: "run a benchmark (results go to BENCHMARKS.md, with date, machine and card)",
		Commands: func() []*cli.Command {
			sort.Slice(benchCommands, func(i, j int) bool { return benchCommands[i].Name < benchCommands[j].Name })
			return benchCommands
		}(),
	})
}
