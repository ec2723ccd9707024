package main

import (
	"sort"

	"github.com/urfave/cli/v3"
)

// benchCmd is `grpo bench`. Each benchmark file adds its subcommand with registerBench from an
// init function. Benchmarks hold the speed and memory targets (never timed tests) and print
// results ready to paste into BENCHMARKS.md (date, machine, card, peer, ratio).
var benchCmd = &cli.Command{
	Name:  "bench",
	Usage: "run a benchmark (results go to BENCHMARKS.md, with date, machine and card)",
}

func init() { register(benchCmd) }

// registerBench adds a `grpo bench` subcommand, keeping them sorted by name.
func registerBench(c *cli.Command) {
	benchCmd.Commands = append(benchCmd.Commands, c)
	sort.Slice(benchCmd.Commands, func(i, j int) bool { return benchCmd.Commands[i].Name < benchCmd.Commands[j].Name })
}
