package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/core/accel"
	"github.com/grpo-dev/grpo/core/grpo"
)

func init() {
	registerBench(&cli.Command{
		Name:  "grpo-parity",
		Usage: "dump seeded GRPO inputs and core/grpo outputs (log-probs, entropy, KL, losses, gradients) for scripts/gpu/grpo_parity.py",
		Description: `Generates seeded random inputs (hidden states, output projection, completions with EOS
mid-row and truncated rows, advantages from grouped rewards, old and reference log-probs), runs
grpo.TokenLogProbs and grpo.Loss for every loss type with and without clipping on the backend
GOMLX_BACKEND selects, and writes inputs and outputs as raw little-endian float32/int32 files with a
manifest.json into --out. scripts/gpu/grpo_parity.py recomputes everything with PyTorch from the
TRL formulas and compares.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Required: true, Usage: "directory for the files"},
			&cli.IntFlag{Name: "batch", Value: 64, Usage: "B·G, completions"},
			&cli.IntFlag{Name: "generations", Value: 8, Usage: "G, completions per prompt"},
			&cli.IntFlag{Name: "seq", Value: 512, Usage: "T, completion length"},
			&cli.IntFlag{Name: "vocab", Value: 32000, Usage: "V"},
			&cli.IntFlag{Name: "dim", Value: 256, Usage: "D"},
			&cli.IntFlag{Name: "chunk", Value: 0, Usage: "tokens per chunk (0: automatic)"},
			&cli.Float64Flag{Name: "temperature", Value: 0.7},
			&cli.Uint64Flag{Name: "seed", Value: 1},
		},
		Action: benchGRPOParity,
	})
}

// parityCase is one loss configuration of the dump.
type parityCase struct {
	Name        string  `json:"name"`
	LossType    string  `json:"loss_type"`
	Beta        float64 `json:"beta"`
	Epsilon     float64 `json:"epsilon"`
	EpsilonHigh float64 `json:"epsilon_high"`
	Clip        bool    `json:"clip"` // old log-probs given (num_iterations > 1)
	MaxLen      int     `json:"max_completion_length"`
	GA          int     `json:"gradient_accumulation_steps"`
	NumItems    float64 `json:"num_items_in_batch"`
	EntropyCoef float64 `json:"entropy_coef"` // objective = loss − coef·mean masked entropy
	GradProj    bool    `json:"grad_proj"`

	Loss       float64            `json:"loss"`
	Objective  float64            `json:"objective"`
	Stats      map[string]float64 `json:"stats"`
	GradHidden string             `json:"grad_hidden"`
	GradProjF  string             `json:"grad_proj_file,omitempty"`
	Seconds    float64            `json:"seconds"`
}

type parityTensor struct {
	File  string `json:"file"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
}

type parityManifest struct {
	Backend     string                  `json:"backend"`
	Batch       int                     `json:"batch"`
	Seq         int                     `json:"seq"`
	Vocab       int                     `json:"vocab"`
	Dim         int                     `json:"dim"`
	Chunk       int                     `json:"chunk"`
	Temperature float64                 `json:"temperature"`
	Seed        uint64                  `json:"seed"`
	Tensors     map[string]parityTensor `json:"tensors"`
	Cases       []*parityCase           `json:"cases"`
	LogProbsSec float64                 `json:"logprobs_seconds"`
}

func benchGRPOParity(_ context.Context, cmd *cli.Command) error {
	dir := cmd.String("out")
	b, gens, t := int(cmd.Int("batch")), int(cmd.Int("generations")), int(cmd.Int("seq"))
	v, d, chunk := int(cmd.Int("vocab")), int(cmd.Int("dim")), int(cmd.Int("chunk"))
	temp, seed := cmd.Float64("temperature"), cmd.Uint64("seed")
	if b <= 0 || gens <= 0 || b%gens != 0 || t < 4 || v < 3 || d <= 0 {
		return fmt.Errorf("bench grpo-parity: need --batch a positive multiple of --generations, --seq >= 4, --vocab >= 3, --dim > 0")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench grpo-parity: %w", err)
	}
	backend, err := accel.Shared()
	if err != nil {
		return err
	}
	m := &parityManifest{Backend: backend.Description(), Batch: b, Seq: t, Vocab: v, Dim: d, Chunk: chunk,
		Temperature: temp, Seed: seed, Tensors: map[string]parityTensor{}}
	write := func(name string, data any, shape ...int) error {
		pt := parityTensor{File: name + ".bin", Shape: shape}
		switch data.(type) {
		case []float32:
			pt.DType = "float32"
		case []int32:
			pt.DType = "int32"
		default:
			return fmt.Errorf("bench grpo-parity: unsupported data for %s", name)
		}
		f, err := os.Create(filepath.Join(dir, pt.File))
		if err != nil {
			return err
		}
		if err := binary.Write(f, binary.LittleEndian, data); err != nil {
			f.Close()
			return fmt.Errorf("bench grpo-parity: writing %s: %w", pt.File, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
		m.Tensors[name] = pt
		return nil
	}

	in := newParityInputs(rand.New(rand.NewPCG(seed, 1234)), b, gens, t, v, d)
	for _, w := range []struct {
		name  string
		data  any
		shape []int
	}{
		{"hidden", in.hidden, []int{b, t, d}}, {"proj", in.proj, []int{v, d}},
		{"targets", in.targets, []int{b, t}}, {"mask", in.mask, []int{b, t}},
		{"advantages", in.advantages, []int{b}},
	} {
		if err := write(w.name, w.data, w.shape...); err != nil {
			return err
		}
	}
	args := func() []any {
		return []any{
			tensors.FromFlatDataAndDimensions(in.hidden, b, t, d), tensors.FromFlatDataAndDimensions(in.proj, v, d),
			tensors.FromFlatDataAndDimensions(in.targets, b, t),
		}
	}
	lpCfg := grpo.LogProbsConfig{Temperature: temp, ChunkSize: chunk, Entropy: true}

	// Policy log-probs and entropy; old and reference log-probs are the policy's plus noise
	// (enough for both clipping sides and a visible KL).
	start := time.Now()
	out, err := callOnce(backend, func(x []*Node) []*Node {
		lp, ent := grpo.TokenLogProbs(x[0], x[1], x[2], lpCfg)
		return []*Node{lp, ent}
	}, args()...)
	if err != nil {
		return err
	}
	m.LogProbsSec = time.Since(start).Seconds()
	lp, ent := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
	noise := rand.New(rand.NewPCG(seed, 99))
	old, ref := make([]float32, len(lp)), make([]float32, len(lp))
	for i := range lp {
		old[i] = lp[i] + float32(0.3*noise.NormFloat64())
		ref[i] = lp[i] + float32(0.3*noise.NormFloat64())
	}
	for _, w := range []struct {
		name string
		data []float32
	}{{"logp", lp}, {"entropy", ent}, {"old_logp", old}, {"ref_logp", ref}} {
		if err := write(w.name, w.data, b, t); err != nil {
			return err
		}
	}
	active := 0
	for _, x := range in.mask {
		active += int(x)
	}

	cases := []*parityCase{}
	for _, typ := range []grpo.LossType{grpo.LossGRPO, grpo.LossBNPO, grpo.LossDrGRPO, grpo.LossDAPO} {
		for _, clip := range []bool{false, true} {
			cases = append(cases, &parityCase{Name: fmt.Sprintf("%s_clip%v", typ, clip), LossType: string(typ),
				Beta: 0.04, Epsilon: 0.2, EpsilonHigh: 0.28, Clip: clip, MaxLen: t, GA: 2,
				NumItems: float64(2*active + 37), GradProj: typ == grpo.LossDAPO && clip})
		}
	}
	cases = append(cases, &parityCase{Name: "grpo_beta0_entropy", LossType: string(grpo.LossGRPO), Epsilon: 0.2,
		MaxLen: t, GA: 1, NumItems: float64(active), EntropyCoef: 0.01, GradProj: true})

	for _, c := range cases {
		cfg := grpo.LossConfig{Type: grpo.LossType(c.LossType), Beta: c.Beta, Epsilon: c.Epsilon,
			EpsilonHigh: c.EpsilonHigh, MaxCompletionLength: c.MaxLen, GradientAccumulationSteps: c.GA}
		start := time.Now()
		out, err := callOnce(backend, func(x []*Node) []*Node {
			lp, ent := grpo.TokenLogProbs(x[0], x[1], x[2], lpCfg)
			li := grpo.LossInputs{LogProbs: lp, Mask: x[3], Advantages: x[4], Entropy: StopGradient(ent), NumItemsInBatch: x[7]}
			if c.Clip {
				li.OldLogProbs = x[5]
			}
			if c.Beta != 0 {
				li.RefLogProbs = x[6]
			}
			lo := grpo.Loss(li, cfg)
			obj := lo.Loss
			if c.EntropyCoef != 0 {
				meanEnt := Div(ReduceAllSum(Mul(ent, x[3])), MaxScalar(ReduceAllSum(x[3]), 1))
				obj = Sub(obj, MulScalar(meanEnt, c.EntropyCoef))
			}
			grads := Gradient(obj, x[0], x[1])
			return []*Node{lo.Loss, obj, lo.Stats, grads[0], grads[1]}
		}, append(args(), tensors.FromFlatDataAndDimensions(in.mask, b, t),
			tensors.FromFlatDataAndDimensions(in.advantages, b), tensors.FromFlatDataAndDimensions(old, b, t),
			tensors.FromFlatDataAndDimensions(ref, b, t), float32(c.NumItems))...)
		if err != nil {
			return fmt.Errorf("bench grpo-parity: case %s: %w", c.Name, err)
		}
		c.Seconds = time.Since(start).Seconds()
		c.Loss = float64(tensors.ToScalar[float32](out[0]))
		c.Objective = float64(tensors.ToScalar[float32](out[1]))
		stats := tensors.MustCopyFlatData[float32](out[2])
		c.Stats = map[string]float64{"kl_sum": float64(stats[grpo.StatKLSum]), "tokens": float64(stats[grpo.StatTokens]),
			"entropy_sum": float64(stats[grpo.StatEntropySum]), "clip_low": float64(stats[grpo.StatClipLow]),
			"clip_high": float64(stats[grpo.StatClipHigh]), "clip_region": float64(stats[grpo.StatClipRegion])}
		c.GradHidden = "grad_hidden_" + c.Name
		if err := write(c.GradHidden, tensors.MustCopyFlatData[float32](out[3]), b, t, d); err != nil {
			return err
		}
		if c.GradProj {
			c.GradProjF = "grad_proj_" + c.Name
			if err := write(c.GradProjF, tensors.MustCopyFlatData[float32](out[4]), v, d); err != nil {
				return err
			}
		}
		fmt.Printf("case %-22s loss=%-14.8g clipped low/high %4.0f/%-4.0f of %.0f tokens  %.2fs\n",
			c.Name, c.Loss, c.Stats["clip_low"], c.Stats["clip_high"], c.Stats["tokens"], c.Seconds)
	}
	m.Cases = cases
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o644); err != nil {
		return fmt.Errorf("bench grpo-parity: %w", err)
	}
	fmt.Printf("wrote %d tensors and %d cases to %s (backend %s; log-probs pass %.2fs)\n",
		len(m.Tensors), len(cases), dir, m.Backend, m.LogProbsSec)
	return nil
}

// callOnce compiles fn for the arguments, runs it once and releases the compiled graph.
func callOnce(backend compute.Backend, fn func([]*Node) []*Node, args ...any) ([]*tensors.Tensor, error) {
	exec, err := NewExec(backend, fn)
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	return exec.Call(args...)
}

// parityInputs are the random inputs of the dump.
type parityInputs struct {
	hidden, proj, mask, advantages []float32
	targets                        []int32
}

// newParityInputs draws hidden states ~ N(0, 1) pulled toward their targets, a projection scaled
// to logits of a few units,
// completions (a quarter end with EOS mid-row, a quarter are truncated, the rest end with EOS at
// a random place; EOS = V−1, pad = V−2, mask from grpo.BuildCompletions) and advantages from
// grouped random rewards (grpo.ComputeAdvantages, G completions per prompt).
func newParityInputs(rng *rand.Rand, b, gens, t, v, d int) *parityInputs {
	in := &parityInputs{hidden: make([]float32, b*t*d), proj: make([]float32, v*d)}
	for i := range in.hidden {
		in.hidden[i] = float32(rng.NormFloat64())
	}
	scale := 2.0 / math.Sqrt(float64(d))
	for i := range in.proj {
		in.proj[i] = float32(rng.NormFloat64() * scale)
	}
	eos, pad := int32(v-1), int32(v-2)
	rows := make([][]int32, b)
	for i := range rows {
		n := t
		if i%4 != 1 { // every fourth row (from 1) is truncated: no EOS
			n = 1 + rng.IntN(t)
		}
		row := make([]int32, n)
		for j := range row {
			row[j] = int32(rng.IntN(v - 2))
		}
		if i%4 != 1 {
			row[n-1] = eos
		}
		rows[i] = row
	}
	comp, err := grpo.BuildCompletions(rows, grpo.CompletionsConfig{Width: t, EOS: []int32{eos}, Pad: pad})
	if err != nil {
		panic(err) // rows are built within the width
	}
	in.targets = comp.IDs
	in.mask = comp.Mask
	// Sampled completions are likely under the policy: pull each position's state toward its
	// target's projection row by κ ~ U[0, 3], so log-probs spread from about −15 (κ = 0, a uniform
	// random token) to near-certain tokens (p ≈ 1), as in real rollouts, instead of all being
	// ≈ −log V.
	for pos, y := range in.targets {
		kappa := float32(3 * rng.Float64())
		h := in.hidden[pos*d : (pos+1)*d]
		w := in.proj[int(y)*d : (int(y)+1)*d]
		for k := range h {
			h[k] += kappa * w[k]
		}
	}
	rewards := make([]float64, b)
	for i := range rewards {
		rewards[i] = float64(rng.IntN(3)) + 0.1*rng.NormFloat64()
	}
	adv, err := grpo.ComputeAdvantages([][]float64{rewards}, grpo.AdvantageConfig{NumGenerations: gens})
	if err != nil {
		panic(err)
	}
	in.advantages = make([]float32, b)
	for i, a := range adv.Values {
		in.advantages[i] = float32(a)
	}
	return in
}
