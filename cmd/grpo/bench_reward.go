package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/core/reward"
	"github.com/grpo-dev/grpo/plugins"
	"github.com/grpo-dev/grpo/sdk/wire"
)

// `grpo bench reward`: the WASM host's cost per batch against the same reward compiled in as a
// native Go function (rewards/math.wasm vs builtin:math: one source package, two targets).
// Reported: native time, WASM time (1 worker, and all CPUs), the host's own work (batch JSON
// encoding, result decoding: the part of the WASM path that is neither guest code nor the
// grading itself) as a share of the native time, and the whole WASM/native ratio.
func init() {
	registerBench(&cli.Command{
		Name:  "reward",
		Usage: "WASM reward host overhead per batch vs the native Go reward (rewards/math.wasm vs builtin:math)",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "plugin", Value: "rewards/math.wasm", Usage: "WASM reward to measure"},
			&cli.StringFlag{Name: "native", Value: "builtin:math", Usage: "the same reward, native"},
			&cli.IntFlag{Name: "items", Value: 1000, Usage: "items per batch"},
			&cli.IntFlag{Name: "rounds", Value: 20, Usage: "timed batches per configuration (median reported)"},
		}, pluginHostFlags()...),
		Action: benchReward,
	})
}

func benchReward(ctx context.Context, cmd *cli.Command) error {
	opts, err := pluginOptions(cmd, nil)
	if err != nil {
		return err
	}
	n, rounds := cmd.Int("items"), max(cmd.Int("rounds"), 3)
	batch := mathBatch(n)
	native, err := plugins.OpenReward(ctx, plugins.Spec{Plugin: cmd.String("native")}, opts)
	if err != nil {
		return err
	}
	defer native.Close()
	tNative, ref, err := timeScore(ctx, native, batch, rounds)
	if err != nil {
		return err
	}
	one := opts
	one.Workers = 1
	w1, err := plugins.OpenReward(ctx, plugins.Spec{Plugin: cmd.String("plugin")}, one)
	if err != nil {
		return err
	}
	defer w1.Close()
	tWasm1, got, err := timeScore(ctx, w1, batch, rounds)
	if err != nil {
		return err
	}
	if !slices.Equal(ref, got) {
		return fmt.Errorf("the WASM and native rewards disagree on the benchmark batch")
	}
	wN, err := plugins.OpenReward(ctx, plugins.Spec{Plugin: cmd.String("plugin")}, opts)
	if err != nil {
		return err
	}
	defer wN.Close()
	tWasmN, _, err := timeScore(ctx, wN, batch, rounds)
	if err != nil {
		return err
	}
	tHost := timeHostWork(batch, rounds)
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	fmt.Printf("batch: %d math items (%.0f KiB of JSON), median of %d rounds\n", n, float64(jsonSize(batch))/1024, rounds)
	fmt.Printf("native %-22s %10s\n", cmd.String("native"), tNative)
	fmt.Printf("wasm   %-22s %10s  (1 worker)   ratio %.2fx\n", cmd.String("plugin"), tWasm1, ratio(tWasm1, tNative))
	fmt.Printf("wasm   %-22s %10s  (%d workers)  ratio %.2fx\n", cmd.String("plugin"), tWasmN, workers, ratio(tWasmN, tNative))
	fmt.Printf("host work (encode batch + decode result + merge) %s = %.1f%% of native\n", tHost, 100*ratio(tHost, tNative))
	sandbox := opts.Sandbox
	if sandbox == "" {
		sandbox = "inprocess"
	}
	fmt.Printf("\nBENCHMARKS.md line:\n| %s | reward host, %d-item math batch, sandbox=%s | CPU (%d cores) | %s %s | host work %s (%.1f%% of native); wasm 1 worker %s (%.1fx), %d workers %s (%.1fx) |\n",
		time.Now().Format("2006-01-02"), n, sandbox, runtime.NumCPU(), cmd.String("native"), tNative.Round(time.Microsecond),
		tHost.Round(time.Microsecond), 100*ratio(tHost, tNative), tWasm1.Round(time.Millisecond), ratio(tWasm1, tNative),
		workers, tWasmN.Round(time.Millisecond), ratio(tWasmN, tNative))
	return nil
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// timeScore scores the batch once to warm up, then rounds times; it returns the median.
func timeScore(ctx context.Context, r reward.Reward, batch []reward.Sample, rounds int) (time.Duration, []float64, error) {
	sc, err := r.Score(ctx, 1, batch)
	if err != nil {
		return 0, nil, err
	}
	times := make([]time.Duration, rounds)
	for i := range times {
		start := time.Now()
		if _, err := r.Score(ctx, 1, batch); err != nil {
			return 0, nil, err
		}
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	return times[rounds/2], sc.Values, nil
}

// timeHostWork times what the WASM host does around the guest call: encoding the batch JSON
// and decoding a result of the same size (the copies into and out of guest memory are a few
// memmoves of the same bytes and are left out).
func timeHostWork(batch []reward.Sample, rounds int) time.Duration {
	items := make([]wire.Item, len(batch))
	res := wire.Result{Rewards: make([]*float64, len(batch))}
	for i, s := range batch {
		items[i] = wire.Item{Prompt: s.Prompt, Completion: s.Completion, Metadata: s.Metadata}
		res.Rewards[i] = wire.Float(float64(i % 2))
	}
	out, _ := json.Marshal(res)
	times := make([]time.Duration, rounds)
	for i := range times {
		start := time.Now()
		_, _ = wire.Marshal(wire.Batch{ABI: 1, Seed: 1, Items: items})
		var r wire.Result
		_ = json.Unmarshal(out, &r)
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	return times[rounds/2]
}

func jsonSize(batch []reward.Sample) int {
	b, _ := json.Marshal(batch)
	return len(b)
}

// mathBatch builds n GSM8K/MATH-like rows (a fixed seed, so every run measures the same batch):
// a question, a reasoning completion of a few hundred characters ending in one of the answer
// forms the grader handles, and the reference answer.
func mathBatch(n int) []reward.Sample {
	rng := rand.New(rand.NewPCG(1, 2))
	steps := []string{"First, we compute the total.", "Then we subtract the part already used.",
		"Multiplying both sides by the denominator gives", "So each group has", "Adding the remaining items,"}
	out := make([]reward.Sample, n)
	for i := range out {
		a, b := rng.IntN(900)+10, rng.IntN(90)+2
		ans := a * b
		var c strings.Builder
		for k := 0; k < 4+rng.IntN(6); k++ {
			fmt.Fprintf(&c, "%s %d × %d = %d. ", steps[rng.IntN(len(steps))], rng.IntN(100), rng.IntN(100), rng.IntN(10000))
		}
		got := ans
		if rng.IntN(3) == 0 {
			got++ // a wrong answer
		}
		switch i % 4 {
		case 0:
			fmt.Fprintf(&c, "Therefore the result is $\\boxed{%d}$.", got)
		case 1:
			fmt.Fprintf(&c, "The answer is %s.", thousands(got))
		case 2:
			fmt.Fprintf(&c, "\n#### %d", got)
		default:
			fmt.Fprintf(&c, "In total we get %d", got)
		}
		out[i] = reward.Sample{
			Prompt:     fmt.Sprintf("A shop sells %d boxes of %d pencils. How many pencils?", a, b),
			Completion: c.String(),
			Metadata:   map[string]any{"answer": fmt.Sprint(ans), "id": fmt.Sprint(i)},
		}
	}
	return out
}

func thousands(v int) string {
	s := fmt.Sprint(v)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
