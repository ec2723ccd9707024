package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/backends/local"
	"github.com/grpo-dev/grpo/core/generate"
	"github.com/grpo-dev/grpo/core/model"
	"github.com/grpo-dev/grpo/core/model/hf"
)

// samplerShapes are the model shapes `grpo bench sampler --shape` can build with random weights.
var samplerShapes = map[string]string{
	// Qwen2.5-0.5B's architecture (config.json of Qwen/Qwen2.5-0.5B).
	"qwen2-0.5b": `{"model_type": "qwen2", "vocab_size": 151936, "hidden_size": 896, "intermediate_size": 4864,
		"num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
		"rope_theta": 1000000.0, "max_position_embeddings": 32768, "tie_word_embeddings": true,
		"torch_dtype": "bfloat16", "initializer_range": 0.02}`,
	// A tiny shape to check the benchmark itself on a CPU.
	"tiny": `{"model_type": "qwen2", "vocab_size": 1024, "hidden_size": 64, "intermediate_size": 128,
		"num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
		"max_position_embeddings": 4096, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "initializer_range": 0.02}`,
}

func init() {
	registerBench(&cli.Command{
		Name:  "sampler",
		Usage: "decode throughput of the local sampler (tokens/s, ms per step, fraction of the bandwidth roofline)",
		Description: `Generates --new-tokens tokens (EOS ignored) for each --batch of random prompts of
--prompt-len tokens, with a random-weight model of a --shape (default qwen2-0.5b, Qwen2.5-0.5B's
architecture) or a --model directory, after one untimed warm-up run (compilation). It reports the
end-to-end rate (generated tokens / wall time, prefill included, as transformers' generate is
timed), the decode time per step, and — with --bandwidth (the card's measured copy bandwidth,
GB/s) — the fraction of the roofline: the bytes a decode step must read (the weights in the
compute dtype + the KV cache of every row's prompt and tokens so far, averaged over the steps)
divided by the bandwidth, over the measured step time. Sampling keys as key=value
(temperature=1 by default; top_p, top_k, min_p, repetition_penalty add their processors).

Where the time goes, per decode step: inside the decode device calls (on XLA a While loop mostly
runs inside its call; in the host loop this is one call per step), reading each segment's
scalars (waiting for the device), and host work (the rest); plus the prefill time and the
warm-up run's time (compilation of every graph). --loop takes a comma-separated list (e.g.
auto,host) to time several loop modes on one model.

  grpo bench sampler --batch 64,256 --prompt-len 64 --new-tokens 256 --bandwidth 3000`,
		ArgsUsage: "[key=value ...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "shape", Value: "qwen2-0.5b", Usage: "random model shape: qwen2-0.5b or tiny"},
			&cli.StringFlag{Name: "model", Usage: "benchmark this model directory instead of a random shape"},
			&cli.StringFlag{Name: "dtype", Value: "bfloat16", Usage: "compute dtype"},
			&cli.IntSliceFlag{Name: "batch", Value: []int{64, 256}, Usage: "batch sizes (completions decoded together)"},
			&cli.IntFlag{Name: "prompt-len", Value: 64, Usage: "prompt tokens per row"},
			&cli.IntFlag{Name: "new-tokens", Value: 256, Usage: "tokens generated per row"},
			&cli.IntFlag{Name: "num-generations", Value: 1, Usage: "completions per prompt (they share a prefill)"},
			&cli.IntFlag{Name: "segment", Usage: "decode steps per device call (0: the generator's default)"},
			&cli.StringFlag{Name: "loop", Value: "auto", Usage: "auto, device or host; a comma-separated list times each"},
			&cli.IntFlag{Name: "repeats", Value: 3, Usage: "timed runs per batch size (the best is reported)"},
			&cli.FloatFlag{Name: "bandwidth", Usage: "card memory bandwidth in GB/s for the roofline (0: not reported)"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object per batch size instead of a table"},
		},
		Action: runBenchSampler,
	})
}

// samplerResult is one batch size's measurement.
type samplerResult struct {
	Date      string `json:"date"`
	Machine   string `json:"machine"`
	Device    string `json:"device"`
	Shape     string `json:"shape"`
	DType     string `json:"dtype"`
	Loop      string `json:"loop"`
	Params    int64  `json:"params"`
	Batch     int    `json:"batch"`
	PromptLen int    `json:"prompt_len"`
	NewTokens int    `json:"new_tokens"`
	N         int    `json:"num_generations"`

	WallSeconds    float64 `json:"wall_seconds"`
	PrefillSeconds float64 `json:"prefill_seconds"`
	DecodeSeconds  float64 `json:"decode_seconds"`
	// WarmupSeconds is the untimed first run (compiles every graph).
	WarmupSeconds float64 `json:"warmup_seconds"`
	// CallMillis, ReadMillis and HostMillis split StepMillis: inside decode device calls,
	// reading segment scalars (device waits) and host work (see local.Stats).
	CallMillis float64 `json:"call_ms_per_step"`
	ReadMillis float64 `json:"read_ms_per_step"`
	HostMillis float64 `json:"host_ms_per_step"`
	// TokensPerSecond is generated tokens / wall time (prefill included).
	TokensPerSecond float64 `json:"tokens_per_second"`
	// DecodeTokensPerSecond is rows × decode steps / decode time.
	DecodeTokensPerSecond float64 `json:"decode_tokens_per_second"`
	StepMillis            float64 `json:"step_ms"`
	// BytesPerStep is the weights plus the average KV cache a decode step must read.
	BytesPerStep float64 `json:"bytes_per_step"`
	// AchievedGBs is BytesPerStep / step time; RooflineFraction that over --bandwidth.
	AchievedGBs      float64 `json:"achieved_gbs"`
	RooflineFraction float64 `json:"roofline_fraction"`
	DeviceCalls      int     `json:"device_calls"`
	CacheSlots       int     `json:"cache_slots"`
	HostLoop         bool    `json:"host_loop"`
}

func runBenchSampler(ctx context.Context, c *cli.Command) error {
	settings, err := generateConfig(nil, append([]string{"temperature=1"}, c.Args().Slice()...))
	if err != nil {
		return err
	}
	dtype, err := model.ParseDType(c.String("dtype"))
	if err != nil {
		return err
	}
	var loops []local.LoopMode
	for _, name := range strings.Split(c.String("loop"), ",") {
		loop, err := parseLoop(strings.TrimSpace(name))
		if err != nil {
			return err
		}
		loops = append(loops, loop)
	}
	promptLen, newTokens, n := int(c.Int("prompt-len")), int(c.Int("new-tokens")), int(c.Int("num-generations"))
	if promptLen < 1 || newTokens < 2 || n < 1 || c.Int("repeats") < 1 {
		return fmt.Errorf("--prompt-len, --num-generations and --repeats must be ≥ 1 and --new-tokens ≥ 2")
	}
	var m *model.Model
	shape := c.String("shape")
	if dir := c.String("model"); dir != "" {
		shape = dir
		m, err = model.Load(ctx, dir, model.Options{DType: dtype})
	} else {
		js, ok := samplerShapes[shape]
		if !ok {
			return fmt.Errorf("--shape %q: use one of qwen2-0.5b, tiny, or --model DIR", shape)
		}
		var cfg *hf.Config
		if cfg, err = hf.ParseConfig([]byte(js), "--shape "+shape); err == nil {
			m, err = model.New(cfg, model.Options{DType: dtype}, 1)
		}
	}
	if err != nil {
		return err
	}
	settings.Sampling.MaxTokens = newTokens
	var results []samplerResult
	for _, loop := range loops {
		for _, b := range c.IntSlice("batch") {
			r, err := benchSamplerBatch(ctx, m, int(b), promptLen, n, settings.Sampling, local.Options{
				MaxBatch: int(b), SegmentSteps: int(c.Int("segment")), Loop: loop, IgnoreEOS: true,
				PromptBuckets: []int{promptLen}}, int(c.Int("repeats")))
			if err != nil {
				return fmt.Errorf("batch %d: %w", b, err)
			}
			r.Shape, r.Machine, r.Device = shape, machine(), m.Backend().Description()
			if bw := c.Float("bandwidth"); bw > 0 {
				r.RooflineFraction = r.AchievedGBs / bw
			}
			if c.Bool("json") { // one line per result as it comes, so a time-out keeps the earlier ones
				if err := printSamplerResults(c.Root().Writer, []samplerResult{r}, true); err != nil {
					return err
				}
			}
			results = append(results, r)
		}
	}
	if c.Bool("json") {
		return nil
	}
	return printSamplerResults(c.Root().Writer, results, false)
}

// benchSamplerBatch times `repeats` Generate calls of `batch` rows after a warm-up call.
func benchSamplerBatch(ctx context.Context, m *model.Model, batch, promptLen, n int, s generate.Sampling, opts local.Options, repeats int) (samplerResult, error) {
	if batch%n != 0 {
		return samplerResult{}, fmt.Errorf("batch %d is not a multiple of --num-generations %d", batch, n)
	}
	g, err := local.New(m, nil, opts)
	if err != nil {
		return samplerResult{}, err
	}
	defer g.Close()
	prompts := make([]generate.Prompt, batch/n)
	x := uint64(12345)
	for i := range prompts {
		ids := make([]int32, promptLen)
		for j := range ids {
			x = x*6364136223846793005 + 1442695040888963407
			ids[j] = int32(10 + (x>>33)%uint64(m.Config.VocabSize-10))
		}
		prompts[i] = generate.Prompt{IDs: ids}
	}
	req := generate.Request{Prompts: prompts, N: n, Sampling: s}
	warm := time.Now()
	if _, err := g.Generate(ctx, req); err != nil { // warm-up: compiles every graph
		return samplerResult{}, err
	}
	warmup := time.Since(warm)
	type run struct {
		wall time.Duration
		st   local.Stats
	}
	var runs []run
	for i := range repeats {
		req.Sampling.Seed = s.Seed + int64(i) + 1
		start := time.Now()
		out, err := g.Generate(ctx, req)
		if err != nil {
			return samplerResult{}, err
		}
		runs = append(runs, run{time.Since(start), g.LastStats()})
		if len(out) != batch {
			return samplerResult{}, fmt.Errorf("%d completions, want %d", len(out), batch)
		}
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].wall < runs[j].wall })
	best := runs[0]
	st := best.st
	if st.Steps != s.MaxTokens-1 {
		return samplerResult{}, fmt.Errorf("ran %d decode steps, want %d (EOS is ignored)", st.Steps, s.MaxTokens-1)
	}
	c := m.Config
	dtypeBytes := float64(m.DType().Size())
	weights := float64(m.NumParameters()) * dtypeBytes
	// KV read by decode step t (t = 1..T-1, feeding the token at position P+t-1): P+t slots of
	// every row and layer, keys and values.
	perSlot := float64(batch) * float64(c.NumHiddenLayers*2*c.NumKeyValueHeads*c.HeadDim) * dtypeBytes
	avgSlots := float64(promptLen) + float64(s.MaxTokens)/2
	bytesPerStep := weights + perSlot*avgSlots
	stepSeconds := st.Decode.Seconds() / float64(st.Steps)
	perStep := func(d time.Duration) float64 { return 1000 * d.Seconds() / float64(st.Steps) }
	return samplerResult{
		WarmupSeconds: warmup.Seconds(), CallMillis: perStep(st.DecodeCalls), ReadMillis: perStep(st.DecodeReads),
		HostMillis: perStep(st.Decode - st.DecodeCalls - st.DecodeReads),
		Date:       time.Now().Format("2006-01-02"), DType: m.DType().String(), Loop: loopName(opts.Loop, st.HostLoop),
		Params: m.NumParameters(), Batch: batch, PromptLen: promptLen, NewTokens: s.MaxTokens, N: n,
		WallSeconds: best.wall.Seconds(), PrefillSeconds: st.Prefill.Seconds(), DecodeSeconds: st.Decode.Seconds(),
		TokensPerSecond:       float64(batch*s.MaxTokens) / best.wall.Seconds(),
		DecodeTokensPerSecond: float64(batch*st.Steps) / st.Decode.Seconds(),
		StepMillis:            1000 * stepSeconds, BytesPerStep: bytesPerStep, AchievedGBs: bytesPerStep / stepSeconds / 1e9,
		DeviceCalls: st.DeviceCalls, CacheSlots: st.CacheSlots, HostLoop: st.HostLoop,
	}, nil
}

func loopName(mode local.LoopMode, host bool) string {
	if host {
		if mode == local.HostLoop {
			return "host"
		}
		return "host (auto)"
	}
	return "device"
}

func printSamplerResults(w io.Writer, results []samplerResult, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	if len(results) == 0 {
		return nil
	}
	r0 := results[0]
	fmt.Fprintf(w, "# grpo bench sampler, %s, %s, device: %s\n", r0.Date, r0.Machine, r0.Device)
	fmt.Fprintln(w, "| model | dtype | batch | prompt | new tokens | loop | grpo tok/s (end-to-end) | decode ms/step (call + read + host) | prefill ms | GB/s read | roofline |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range slices.Clone(results) {
		roof := "—"
		if r.RooflineFraction > 0 {
			roof = fmt.Sprintf("%.0f%%", 100*r.RooflineFraction)
		}
		fmt.Fprintf(w, "| %s (%.0fM) | %s | %d | %d | %d | %s | %.0f | %.2f (%.2f + %.2f + %.2f) | %.1f | %.0f | %s |\n", r.Shape, float64(r.Params)/1e6, r.DType,
			r.Batch, r.PromptLen, r.NewTokens, r.Loop, r.TokensPerSecond, r.StepMillis, r.CallMillis, r.ReadMillis, r.HostMillis,
			1000*r.PrefillSeconds, r.AchievedGBs, roof)
	}
	return nil
}
