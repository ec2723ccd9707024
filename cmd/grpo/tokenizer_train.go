package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/tokenizer"
	"github.com/grpo-dev/grpo/core/tokenizer/bpetrain"
)

// tokenizerCmd is `grpo tokenizer`: make tokenizers.
var tokenizerCmd = &cli.Command{
	Name:  "tokenizer",
	Usage: "make tokenizers",
	Commands: []*cli.Command{{
		Name:  "train",
		Usage: "learn a byte-level BPE tokenizer (Qwen2 pre-tokenizer) from a dataset",
		Description: `Learns BPE merges from the text columns of a dataset (JSONL, Parquet, Arrow, a
directory or a Hugging Face cache id) and writes tokenizer.json and tokenizer_config.json,
loadable by grpo and transformers. The pre-tokenizer is Qwen2's (digits one by one), the
special tokens Qwen's ChatML ones: <|endoftext|> (pad), <|im_start|>, <|im_end|> (EOS).

With --chat-template chatml the first two --columns are a user message and the assistant's
reply, and merges are learned from their ChatML rendering (what a chat model trains on);
without it every --columns value is one text.

  grpo tokenizer train --data configs/demo/data/train.jsonl --columns prompt,solution \
      --chat-template chatml --vocab-size 384 --out configs/demo/model`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data", Required: true, Usage: "dataset file, directory or cache id", TakesFile: true},
			&cli.StringFlag{Name: "split", Value: "train", Usage: "split expression"},
			&cli.StringSliceFlag{Name: "columns", Usage: "text columns (default: every string column)"},
			&cli.IntFlag{Name: "vocab-size", Value: 512, Usage: "vocabulary size: 256 byte symbols + merges + 3 special tokens"},
			&cli.IntFlag{Name: "min-frequency", Value: 2, Usage: "fewest occurrences of a pair to merge it"},
			&cli.StringFlag{Name: "chat-template", Value: "chatml", Usage: "chatml or none"},
			&cli.IntFlag{Name: "model-max-length", Value: 0, Usage: "model_max_length in tokenizer_config.json (0: unset)"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "output directory", TakesFile: true},
		},
		Action: runTokenizerTrain,
	}},
}

func init() { register(tokenizerCmd) }

func runTokenizerTrain(_ context.Context, c *cli.Command) error {
	src, err := data.Open(c.String("data"))
	if err != nil {
		return err
	}
	ds, err := src.Load(c.String("split"))
	if err != nil {
		return err
	}
	cols := c.StringSlice("columns")
	if len(cols) == 0 {
		for _, col := range ds.Columns {
			if len(ds.Rows) > 0 {
				if _, ok := ds.Rows[0][col].(string); ok {
					cols = append(cols, col)
				}
			}
		}
	}
	chat := c.String("chat-template")
	if chat != "chatml" && chat != "none" {
		return fmt.Errorf("--chat-template %q: use chatml or none", chat)
	}
	if chat == "chatml" && len(cols) < 2 {
		return fmt.Errorf("--chat-template chatml needs two --columns (the user message and the reply), got %q", cols)
	}
	var texts []string
	for i := range ds.Rows {
		var vals []string
		for _, col := range cols {
			s, err := ds.Text(i, col)
			if err != nil {
				return err
			}
			vals = append(vals, s)
		}
		if chat == "chatml" {
			texts = append(texts, bpetrain.ChatMLText(vals[0], vals[1]))
			vals = vals[2:]
		}
		texts = append(texts, vals...)
	}
	tok, err := bpetrain.Train(texts, bpetrain.Config{VocabSize: int(c.Int("vocab-size")), MinFrequency: int(c.Int("min-frequency")),
		SpecialTokens: bpetrain.ChatMLTokens})
	if err != nil {
		return err
	}
	opts := bpetrain.WriteOptions{EOSToken: "<|im_end|>", PadToken: "<|endoftext|>", ModelMaxLength: int(c.Int("model-max-length"))}
	if chat == "chatml" {
		opts.ChatTemplate = bpetrain.ChatMLTemplate
	} else {
		opts.EOSToken = "<|endoftext|>"
	}
	out := c.String("out")
	if err := tok.WriteDir(out, opts); err != nil {
		return err
	}
	// Load it back through the normal path and report the compression on the corpus.
	loaded, err := tokenizer.Load(out)
	if err != nil {
		return fmt.Errorf("the written tokenizer does not load: %w", err)
	}
	var chars, tokens int
	for _, t := range texts {
		chars += len(t)
		tokens += len(loaded.Encode(t, false))
	}
	fmt.Fprintf(c.Root().Writer, "wrote %s: vocabulary %d (%d merges, %d special tokens) from %d texts of columns %s; %.2f bytes/token on them\n",
		out, loaded.VocabSize(), len(tok.Merges), len(tok.Special), len(texts), strings.Join(cols, ","), float64(chars)/float64(max(tokens, 1)))
	return nil
}
