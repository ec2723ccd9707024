package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/grpo-dev/grpo/core/reward"
	"github.com/grpo-dev/grpo/plugins"
	"github.com/grpo-dev/grpo/sdk/go/examples/lastnumber/grade"
	"github.com/grpo-dev/grpo/sdk/wire"
	"github.com/urfave/cli/v3"
)

// openOverheadPlugin opens one --plugin of `grpo bench plugin-overhead` through the same
// dispatch as training (.wasm → the WASM host, an executable → a process plugin), so WASM and
// process builds of the reward are measured side by side.
func openOverheadPlugin(ctx context.Context, path string) (reward.Reward, error) {
	return plugins.OpenReward(ctx, plugins.Spec{Plugin: path}, plugins.Options{})
}

func init() {
	registerBench(&cli.Command{
		Name:  "plugin-overhead",
		Usage: "per-batch overhead of reward plugins vs the same reward as a native Go function",
		Description: `Scores the same synthetic math batch (prompt, a ~100-byte completion, an answer
column; half correct) with the "lastnumber" reward (sdk/go/examples/lastnumber/grade) natively and
through each --plugin, which must implement that reward: the Go process example, the Python one,
a WASM build. Prints per-batch medians and the overhead (plugin − native) as BENCHMARKS.md rows.

  go build -o /tmp/lastnumber ./sdk/go/examples/lastnumber
  grpo bench plugin-overhead --plugin /tmp/lastnumber \
      --plugin sdk/python/examples/lastnumber/lastnumber.py`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "plugin", Usage: "reward plugin implementing lastnumber (repeatable)", Required: true},
			&cli.IntSliceFlag{Name: "batch", Value: []int{64, 1024}, Usage: "batch sizes"},
			&cli.IntFlag{Name: "iters", Value: 200, Usage: "timed batches per size and plugin"},
			&cli.IntFlag{Name: "warmup", Value: 20, Usage: "untimed batches first"},
		},
		Action: runPluginOverhead,
	})
}

func runPluginOverhead(ctx context.Context, c *cli.Command) error {
	iters, warmup := int(c.Int("iters")), int(c.Int("warmup"))
	if iters < 1 {
		return fmt.Errorf("--iters must be at least 1, got %d", iters)
	}
	var rewards []reward.Reward
	defer func() {
		for _, r := range rewards {
			r.Close()
		}
	}()
	for _, p := range c.StringSlice("plugin") {
		r, err := openOverheadPlugin(ctx, p)
		if err != nil {
			return fmt.Errorf("--plugin %s: %w", p, err)
		}
		rewards = append(rewards, r)
	}

	fmt.Printf("# grpo bench plugin-overhead, %s, %s, card: CPU\n", time.Now().Format("2006-01-02"), machine())
	fmt.Println("| plugin | batch | native µs/batch | plugin µs/batch (median) | p90 | overhead µs/batch | overhead µs/item | plugin/native |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, n := range c.IntSlice("batch") {
		samples, batch := overheadBatch(int(n))
		want := grade.Score(batch, grade.DefaultAnswerColumn)
		native := timeIt(iters, warmup, func() error {
			grade.Score(batch, grade.DefaultAnswerColumn)
			return nil
		})
		for i, r := range rewards {
			got, err := r.Score(ctx, 1, samples)
			if err != nil {
				return err
			}
			if err := sameScores(got.Values, want.Rewards); err != nil {
				return fmt.Errorf("--plugin %s does not implement lastnumber: %w", c.StringSlice("plugin")[i], err)
			}
			var callErr error
			d := timeIt(iters, warmup, func() error {
				_, callErr = r.Score(ctx, 1, samples)
				return callErr
			})
			if callErr != nil {
				return callErr
			}
			over := d.median - native.median
			fmt.Printf("| %s | %d | %.1f | %.1f | %.1f | %.1f | %.2f | %.1f× |\n", r.Name()+" ("+kindOf(c.StringSlice("plugin")[i])+")",
				n, us(native.median), us(d.median), us(d.p90), us(over), us(over)/float64(n),
				float64(d.median)/float64(native.median))
		}
	}
	return nil
}

// overheadBatch builds n deterministic items: a math prompt, a completion with some reasoning
// ending in a number (correct for even i), and the answer column.
func overheadBatch(n int) ([]reward.Sample, wire.Batch) {
	samples := make([]reward.Sample, n)
	b := wire.Batch{ABI: wire.ABIVersion, Seed: 1, Items: make([]wire.Item, n)}
	for i := range n {
		a, c := 17+i%50, 25+i%31
		ans := a + c
		got := ans
		if i%2 == 1 {
			got = ans + 1
		}
		p := fmt.Sprintf("What is %d + %d?", a, c)
		comp := fmt.Sprintf("First add the tens, then the ones: %d plus %d. Carrying where needed, the answer is %d.", a, c, got)
		meta := map[string]any{"answer": fmt.Sprint(ans)}
		samples[i] = reward.Sample{Prompt: p, Completion: comp, Metadata: meta}
		b.Items[i] = wire.Item{Prompt: p, Completion: comp, Metadata: meta}
	}
	return samples, b
}

type timing struct{ median, p90 time.Duration }

func timeIt(iters, warmup int, f func() error) timing {
	for range warmup {
		if f() != nil {
			return timing{}
		}
	}
	ds := make([]time.Duration, iters)
	for i := range ds {
		t0 := time.Now()
		if f() != nil {
			return timing{}
		}
		ds[i] = time.Since(t0)
	}
	slices.Sort(ds)
	return timing{median: ds[len(ds)/2], p90: ds[len(ds)*9/10]}
}

func sameScores(got []float64, want []*float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d scores, want %d", len(got), len(want))
	}
	for i := range got {
		w := math.NaN()
		if want[i] != nil {
			w = *want[i]
		}
		if got[i] != w && !(math.IsNaN(got[i]) && math.IsNaN(w)) {
			return fmt.Errorf("item %d scored %v, the native reward %v", i, got[i], w)
		}
	}
	return nil
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

func kindOf(path string) string {
	switch {
	case strings.HasSuffix(path, ".wasm"):
		return "wasm"
	case strings.HasSuffix(path, ".py"):
		return "python process"
	}
	return "process"
}

// machine describes the CPU for the benchmark record.
func machine() string {
	model := runtime.GOARCH
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores", model, runtime.NumCPU())
}
