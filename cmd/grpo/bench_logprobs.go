package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/core/accel"
	"github.com/grpo-dev/grpo/core/grpo"
)

func init() {
	registerBench(&cli.Command{
		Name:  "logprobs",
		Usage: "chunked token log-probs + entropy and their gradient: wall time and peak RSS",
		Description: `Runs grpo.TokenLogProbs (log-probs and entropy of the chosen tokens from hidden states
[tokens, D] and an output projection [V, D]) and the gradient of a weighted sum of both with respect
to the hidden states and the projection, on random float32 inputs. Reports compile+first-run and
steady-state wall time and the process's peak resident memory (VmHWM). The default size is the
memory acceptance of issue 3: 16,384 tokens × 151,936 vocabulary (Qwen2), where the full float32
logits alone would take 10 GB; the target is a peak RSS under 3 GB on the pure-Go backend.
--naive builds the unchunked graph instead (LogSoftmax over the full logits, plain autodiff) as the
peer to compare against; run it at sizes that fit in memory.`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "tokens", Value: 16384, Usage: "B·T, the number of token positions"},
			&cli.IntFlag{Name: "vocab", Value: 151936, Usage: "V, the vocabulary size"},
			&cli.IntFlag{Name: "dim", Value: 64, Usage: "D, the hidden size"},
			&cli.IntFlag{Name: "chunk", Value: 0, Usage: "tokens per chunk (0: grpo.DefaultChunkSize(V))"},
			&cli.IntFlag{Name: "runs", Value: 2, Usage: "executions (the first includes compilation)"},
			&cli.Float64Flag{Name: "temperature", Value: 0.7, Usage: "sampling temperature applied to the logits"},
			&cli.BoolFlag{Name: "naive", Usage: "unchunked peer: full logits, LogSoftmax, plain autodiff"},
		},
		Action: benchLogProbs,
	})
}

func benchLogProbs(_ context.Context, cmd *cli.Command) error {
	n, v, d := int(cmd.Int("tokens")), int(cmd.Int("vocab")), int(cmd.Int("dim"))
	chunk, runs := int(cmd.Int("chunk")), int(cmd.Int("runs"))
	temp, naive := cmd.Float64("temperature"), cmd.Bool("naive")
	if n <= 0 || v <= 0 || d <= 0 || runs <= 0 {
		return fmt.Errorf("bench logprobs: --tokens, --vocab, --dim and --runs must be > 0")
	}
	backend, err := accel.Shared()
	if err != nil {
		return err
	}
	if chunk == 0 {
		chunk = grpo.DefaultChunkSize(v)
	}

	rng := rand.New(rand.NewPCG(42, 7))
	hidden := make([]float32, n*d)
	for i := range hidden {
		hidden[i] = float32(rng.NormFloat64())
	}
	proj := make([]float32, v*d)
	scale := 1.5 / math.Sqrt(float64(d))
	for i := range proj {
		proj[i] = float32(rng.NormFloat64() * scale)
	}
	targets := make([]int32, n)
	weights := make([]float32, n)
	for i := range targets {
		targets[i] = int32(rng.IntN(v))
		weights[i] = float32(rng.NormFloat64())
	}

	exec, err := NewExec(backend, func(in []*Node) []*Node {
		h, w, t, a := in[0], in[1], in[2], in[3]
		var lp, ent *Node
		if naive {
			logits := DivScalar(Einsum("nd,vd->nv", h, w), temp)
			logSoftmax := LogSoftmax(logits, -1)
			lp = ReduceSum(Mul(logSoftmax, OneHot(t, v, dtypes.Float32)), -1)
			ent = Neg(ReduceSum(Mul(Exp(logSoftmax), logSoftmax), -1))
		} else {
			lp, ent = grpo.TokenLogProbs(h, w, t, grpo.LogProbsConfig{Temperature: temp, ChunkSize: chunk, Entropy: true})
		}
		obj := Add(ReduceAllSum(Mul(lp, a)), MulScalar(ReduceAllMean(ent), 0.01))
		grads := Gradient(obj, h, w)
		return []*Node{obj, ReduceAllSum(Mul(grads[0], grads[0])), ReduceAllSum(Mul(grads[1], grads[1]))}
	})
	if err != nil {
		return err
	}
	defer exec.Finalize()
	args := []any{
		tensors.FromFlatDataAndDimensions(hidden, n, d), tensors.FromFlatDataAndDimensions(proj, v, d),
		tensors.FromFlatDataAndDimensions(targets, n), tensors.FromFlatDataAndDimensions(weights, n),
	}

	mode := "chunked"
	if naive {
		mode = "naive"
	}
	fmt.Printf("grpo bench logprobs (%s): tokens=%d vocab=%d dim=%d chunk=%d float32, backend %s, %d CPUs\n",
		mode, n, v, d, chunk, backend.Name(), runtime.NumCPU())
	fmt.Printf("full logits would be %.2f GB (float32)\n", float64(n)*float64(v)*4/1e9)
	var first, best time.Duration
	for r := range runs {
		start := time.Now()
		out, err := exec.Call(args...)
		if err != nil {
			return fmt.Errorf("bench logprobs run %d: %w", r, err)
		}
		elapsed := time.Since(start)
		obj := out[0].Value()
		gh, gw := out[1].Value(), out[2].Value()
		for _, t := range out {
			t.MustFinalizeAll()
		}
		if r == 0 {
			first = elapsed
			best = elapsed
		} else if elapsed < best {
			best = elapsed
		}
		fmt.Printf("run %d: %.2fs  objective=%v |∂h|²=%v |∂W|²=%v  peak RSS so far %.2f GB\n",
			r, elapsed.Seconds(), obj, gh, gw, float64(peakRSS())/1e9)
	}
	hwm := peakRSS()
	fmt.Printf("RESULT %s: first run (with compile) %.2fs, best run %.2fs, peak RSS (VmHWM) %.2f GB\n",
		mode, first.Seconds(), best.Seconds(), float64(hwm)/1e9)
	return nil
}

// peakRSS returns the process's peak resident set size in bytes (VmHWM of /proc/self/status), or
// 0 where /proc is not available.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fields := strings.Fields(rest)
			if len(fields) >= 1 {
				kb, err := strconv.ParseInt(fields[0], 10, 64)
				if err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 0
}
