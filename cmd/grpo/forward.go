package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/core/model"
)

// forwardCmd is `grpo forward`: one forward pass of a model over a token batch, for debugging
// and for the GPU parity check against transformers (scripts/gpu/model_parity.py).
var forwardCmd = &cli.Command{
	Name:  "forward",
	Usage: "run a model over a JSON token batch; print greedy next tokens, write raw float32 logits",
	Description: `The input file is JSON: {"input_ids": [[...]], "attention_mask": [[...]], "position_ids": [[...]]}
(a padded batch; position_ids default to cumsum(attention_mask)-1 with pads set to 1, as
transformers' generate does). The logits [B,T,V] are written as little-endian float32 to --logits.
--cached N runs the KV-cache path (a prefill of N columns, then one column per step) instead of the
full forward. --save DIR re-saves the loaded model in the Hugging Face layout.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "model", Usage: "model directory or Hugging Face id", Required: true},
		&cli.StringFlag{Name: "input", Usage: "JSON batch file", Required: true},
		&cli.StringFlag{Name: "logits", Usage: "write the logits as raw float32 [B,T,V] to this file"},
		&cli.StringFlag{Name: "dtype", Usage: "compute dtype: float32, bfloat16, float16 or auto (the checkpoint's)", Value: "float32"},
		&cli.StringFlag{Name: "attn", Usage: "attn_implementation: eager or sdpa", Value: model.AttentionSDPA},
		&cli.IntFlag{Name: "cached", Usage: "use the KV-cache path with this prefill length (0: full forward)"},
		&cli.StringFlag{Name: "save", Usage: "save the loaded model to this directory"},
		&cli.StringFlag{Name: "save-dtype", Usage: "dtype of the saved weights (default: the checkpoint's)"},
	},
	Action: runForward,
}

func init() { register(forwardCmd) }

func runForward(ctx context.Context, cmd *cli.Command) error {
	dtype, err := model.ParseDType(cmd.String("dtype"))
	if err != nil {
		return err
	}
	data, err := os.ReadFile(cmd.String("input"))
	if err != nil {
		return err
	}
	var in struct {
		InputIDs      [][]int32 `json:"input_ids"`
		AttentionMask [][]int32 `json:"attention_mask"`
		PositionIDs   [][]int32 `json:"position_ids"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("%s: %w", cmd.String("input"), err)
	}
	if in.AttentionMask == nil {
		in.AttentionMask = make([][]int32, len(in.InputIDs))
		for i, row := range in.InputIDs {
			in.AttentionMask[i] = make([]int32, len(row))
			for j := range row {
				in.AttentionMask[i][j] = 1
			}
		}
	}
	if in.PositionIDs == nil {
		in.PositionIDs = model.PositionIDs(in.AttentionMask)
	}
	batch := model.Batch{Tokens: in.InputIDs, Positions: in.PositionIDs, Mask: in.AttentionMask}

	start := time.Now()
	m, err := model.Load(ctx, cmd.String("model"), model.Options{DType: dtype, Attention: cmd.String("attn")})
	if err != nil {
		return err
	}
	loadSeconds := time.Since(start).Seconds()
	start = time.Now()
	var logits *tensors.Tensor
	if n := int(cmd.Int("cached")); n > 0 {
		logits, err = m.ComputeLogitsCached(batch, n)
	} else {
		logits, err = m.ComputeLogits(batch)
	}
	if err != nil {
		return err
	}
	values, err := tensors.CopyFlatData[float32](logits)
	if err != nil {
		return err
	}
	dims := logits.Shape().Dimensions
	rows, cols, vocab := dims[0], dims[1], dims[2]
	greedy := make([]int, rows)
	for b := range rows {
		last := values[(b*cols+cols-1)*vocab:][:vocab]
		for v := range last {
			if last[v] > last[greedy[b]] {
				greedy[b] = v
			}
		}
	}
	if path := cmd.String("logits"); path != "" {
		raw := make([]byte, 4*len(values))
		for i, v := range values {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			return err
		}
	}
	if dir := cmd.String("save"); dir != "" {
		if err := m.Save(dir, model.SaveOptions{DType: cmd.String("save-dtype")}); err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"model": m.Dir, "model_type": m.Config.ModelType, "backend": m.Backend().Name(), "dtype": m.DType().String(),
		"attn": cmd.String("attn"), "cached_prefill": cmd.Int("cached"), "shape": dims, "greedy_next": greedy,
		"load_seconds": loadSeconds, "forward_seconds": time.Since(start).Seconds(),
	})
}
