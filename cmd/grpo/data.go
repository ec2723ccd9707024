package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/data/arith"
)

// dataCmd is `grpo data`: make and inspect datasets.
var dataCmd = &cli.Command{
	Name:  "data",
	Usage: "make and inspect datasets",
	Commands: []*cli.Command{
		{
			Name:  "arith",
			Usage: "write seeded arithmetic word problems (the demo data) as JSONL",
			Description: `Writes N addition/subtraction problems with columns prompt, answer, solution (a short
worked solution ending in \boxed{answer}) and expression. Train and test never share a
problem, whatever the seeds and settings: each expression belongs to one split by a fixed hash.

  grpo data arith --n 20000 --seed 1 --out data/arith/train.jsonl
  grpo data arith --n 500 --seed 1 --split test --out data/arith/test.jsonl`,
			Flags: []cli.Flag{
				&cli.IntFlag{Name: "n", Value: 1000, Usage: "number of problems"},
				&cli.Int64Flag{Name: "seed", Value: 0, Usage: "random seed"},
				&cli.StringFlag{Name: "split", Value: arith.Train, Usage: "train or test"},
				&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "output file (default: stdout)"},
				&cli.IntFlag{Name: "min-digits", Value: arith.DefaultConfig().MinDigits, Usage: "fewest digits per operand (1-4)"},
				&cli.IntFlag{Name: "max-digits", Value: arith.DefaultConfig().MaxDigits, Usage: "most digits per operand (1-4)"},
				&cli.IntFlag{Name: "min-steps", Value: arith.DefaultConfig().MinSteps, Usage: "fewest operations per problem (1-4)"},
				&cli.IntFlag{Name: "max-steps", Value: arith.DefaultConfig().MaxSteps, Usage: "most operations per problem (1-4)"},
				&cli.StringFlag{Name: "ops", Value: arith.DefaultConfig().Ops, Usage: `operations to use, a subset of "+-"`},
				&cli.StringFlag{Name: "style", Value: arith.DefaultConfig().Style, Usage: "wording: mixed, symbolic or word"},
				&cli.Float64Flag{Name: "lazy", Usage: "probability that a multi-step problem's worked solution stops after its first operation (a flawed demonstrator; the answer column stays true)"},
				&cli.StringFlag{Name: "lazy-op", Usage: `make only problems whose first operation is this ("+" or "-") lazy (default: any)`},
			},
			Action: runDataArith,
		},
		{
			Name:      "show",
			Usage:     "show a dataset's layout, splits, columns and first rows",
			ArgsUsage: "PATH_OR_HUB_ID",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "split", Value: "train", Usage: "split expression, e.g. train[:90%]"},
				&cli.IntFlag{Name: "rows", Value: 3, Usage: "rows to print"},
			},
			Action: runDataShow,
		},
	},
}

func init() { register(dataCmd) }

func runDataArith(_ context.Context, c *cli.Command) error {
	cfg := arith.Config{
		N: c.Int("n"), Seed: c.Int64("seed"), Split: c.String("split"),
		MinDigits: c.Int("min-digits"), MaxDigits: c.Int("max-digits"),
		MinSteps: c.Int("min-steps"), MaxSteps: c.Int("max-steps"),
		Ops: c.String("ops"), Style: c.String("style"), Lazy: c.Float64("lazy"),
	}
	switch op := c.String("lazy-op"); op {
	case "":
	case "+", "-":
		cfg.LazyOp = op[0]
	default:
		return fmt.Errorf("--lazy-op %q: use \"+\" or \"-\" (or leave it out for any operation)", op)
	}
	ps, err := arith.Generate(cfg)
	if err != nil {
		return err
	}
	ds := arith.Dataset("arith "+cfg.Split, ps)
	out := c.String("out")
	if out == "" {
		return data.WriteJSONL(os.Stdout, ds)
	}
	// Write next to the target and rename, so an interrupted run never leaves half a file.
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("data arith: %w", err)
	}
	if err := data.WriteJSONL(f, ds); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("data arith: write %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("data arith: write %s: %w", out, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("data arith: %w", err)
	}
	fmt.Fprintf(os.Stderr, "wrote %d %s problems (digits %d-%d, steps %d-%d, ops %q, %s wording, seed %d) to %s\n",
		len(ps), cfg.Split, cfg.MinDigits, cfg.MaxDigits, cfg.MinSteps, cfg.MaxSteps, cfg.Ops, cfg.Style, cfg.Seed, out)
	return nil
}

func runDataShow(_ context.Context, c *cli.Command) error {
	if c.Args().Len() != 1 {
		return fmt.Errorf("data show: give one dataset path or Hub id")
	}
	src, err := data.Open(c.Args().First())
	if err != nil {
		return err
	}
	ds, err := src.Load(c.String("split"))
	if err != nil {
		return err
	}
	return showDataset(os.Stdout, src, ds, c.Int("rows"))
}

func showDataset(w io.Writer, src *data.Source, ds *data.Dataset, rows int) error {
	fmt.Fprintf(w, "dataset: %s (%s)\n", src.Path, src.Layout)
	for _, s := range src.Splits() {
		files, _ := src.Files(s)
		fmt.Fprintf(w, "split %s: %d file(s)\n", s, len(files))
	}
	fmt.Fprintf(w, "selected: %s, %d rows\ncolumns: %s\n", ds.Name, ds.Len(), strings.Join(ds.Columns, ", "))
	for i := 0; i < rows && i < ds.Len(); i++ {
		b, err := data.MarshalRow(ds.Columns, ds.Rows[i])
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s: %s\n", ds.Where(i), b)
	}
	return nil
}
