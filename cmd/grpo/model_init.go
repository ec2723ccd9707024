package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/core/model"
	"github.com/grpo-dev/grpo/core/model/hf"
	"github.com/grpo-dev/grpo/core/tokenizer"
)

// modelCmd is `grpo model`: make models.
var modelCmd = &cli.Command{
	Name:  "model",
	Usage: "make models",
	Commands: []*cli.Command{{
		Name:  "init",
		Usage: "create a randomly initialised model from a config.json and a tokenizer (transformers' from_config)",
		Description: `Writes --out in Hugging Face layout: config.json (from --config, with vocab_size,
bos_token_id, eos_token_id and pad_token_id filled in from the tokenizer when the file leaves
them out; vocab_size is the tokenizer's size rounded up to a multiple of 64, as
resize_token_embeddings(pad_to_multiple_of=64)), generation_config.json (the tokenizer's stop
and pad ids), the tokenizer files, and weights initialised as transformers' _init_weights does
(normal with initializer_range, biases 0, norms 1), seeded.

  grpo model init --config configs/demo/model.json --tokenizer /tmp/tok --seed 1 --out configs/demo/model`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Required: true, Usage: "config.json template (Qwen2 or Llama)", TakesFile: true},
			&cli.StringFlag{Name: "tokenizer", Required: true, Usage: "directory with tokenizer.json and tokenizer_config.json", TakesFile: true},
			&cli.Uint64Flag{Name: "seed", Value: 0, Usage: "initialisation seed"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "output directory", TakesFile: true},
		},
		Action: runModelInit,
	}},
}

func init() { register(modelCmd) }

func runModelInit(_ context.Context, c *cli.Command) error {
	tok, err := tokenizer.Load(c.String("tokenizer"))
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(c.String("config"))
	if err != nil {
		return err
	}
	var keys map[string]any
	if err := json.Unmarshal(raw, &keys); err != nil {
		return fmt.Errorf("%s: %w", c.String("config"), err)
	}
	eos := tok.EOS()
	fill := func(k string, v any) {
		if _, ok := keys[k]; !ok {
			keys[k] = v
		}
	}
	fill("vocab_size", (tok.VocabSize()+63)/64*64)
	if id, ok := tok.BOS(); ok {
		fill("bos_token_id", id)
	} else {
		fill("bos_token_id", nil)
	}
	if len(eos) > 0 {
		fill("eos_token_id", eos[0])
	}
	if pad := tok.PadID(); pad >= 0 {
		fill("pad_token_id", pad)
	}
	cfgJSON, err := marshalIndent(keys)
	if err != nil {
		return err
	}
	cfg, err := hf.ParseConfig(cfgJSON, c.String("config"))
	if err != nil {
		return err
	}
	if tok.VocabSize() > cfg.VocabSize {
		return fmt.Errorf("%s: vocab_size %d is smaller than the tokenizer's %d tokens", c.String("config"), cfg.VocabSize, tok.VocabSize())
	}
	gen := map[string]any{"eos_token_id": eos, "pad_token_id": tok.PadID()}
	if id, ok := tok.BOS(); ok {
		gen["bos_token_id"] = id
	}
	genJSON, err := marshalIndent(gen)
	if err != nil {
		return err
	}
	out := c.String("out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for name, data := range map[string][]byte{hf.ConfigFile: cfgJSON, hf.GenerationConfigFile: genJSON} {
		if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			return err
		}
	}
	if _, err := hf.CopyTokenizerFiles(c.String("tokenizer"), out); err != nil {
		return err
	}
	m, err := model.New(cfg, model.Options{}, c.Uint64("seed"))
	if err != nil {
		return err
	}
	if m.Generation, err = hf.ReadGenerationConfig(out); err != nil {
		return err
	}
	m.Dir = out
	if err := m.Save(out, model.SaveOptions{}); err != nil {
		return err
	}
	fmt.Fprintf(c.Root().Writer, "wrote %s: %s, %d parameters, vocabulary %d (tokenizer %d), seed %d\n",
		out, cfg.ModelType, m.NumParameters(), cfg.VocabSize, tok.VocabSize(), c.Uint64("seed"))
	return nil
}

func marshalIndent(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(v)
	return b.Bytes(), err
}
