package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/core/tokenizer"
)

// tokenizeCmd is `grpo tokenize`: a filter for debugging prompts, one JSON value per line.
var tokenizeCmd = &cli.Command{
	Name:  "tokenize",
	Usage: "encode JSON strings read line by line from stdin to token ids (or decode with --decode)",
	Description: `Reads one JSON string per line on stdin and prints one JSON array of token ids per
line, tokenized exactly as the model's Hugging Face tokenizer does. With --decode it reads JSON
arrays of ids and prints JSON strings. Special tokens written in the text (<|im_start|>) encode
to their ids. Example:
  echo '"<|im_start|>user\nHi<|im_end|>"' | grpo tokenize --model Qwen3-0.6B`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "model", Usage: "model directory (or its tokenizer.json)", Required: true},
		&cli.BoolFlag{Name: "decode", Usage: "read arrays of ids, print strings"},
		&cli.BoolFlag{Name: "add-special", Usage: "add the post-processor's special tokens (BOS for Llama-3), as add_special_tokens=True"},
		&cli.BoolFlag{Name: "skip-special", Usage: "with --decode, drop special tokens"},
	},
	Action: func(ctx context.Context, c *cli.Command) error {
		tk, err := tokenizer.Load(c.String("model"))
		if err != nil {
			return err
		}
		return runTokenize(tk, os.Stdin, os.Stdout, c.Bool("decode"), c.Bool("add-special"), c.Bool("skip-special"))
	},
}

func init() { register(tokenizeCmd) }

func runTokenize(tk *tokenizer.Tokenizer, in io.Reader, out io.Writer, decode, addSpecial, skipSpecial bool) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<30)
	w := bufio.NewWriter(out)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		if decode {
			var ids []int32
			if err := json.Unmarshal(sc.Bytes(), &ids); err != nil {
				return fmt.Errorf("stdin line %d: want a JSON array of token ids: %w", line, err)
			}
			if err := enc.Encode(tk.Decode(ids, skipSpecial)); err != nil {
				return err
			}
			continue
		}
		var s string
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return fmt.Errorf("stdin line %d: want a JSON string (quote the text): %w", line, err)
		}
		ids := tk.Encode(s, addSpecial)
		if ids == nil {
			ids = []int32{}
		}
		if err := enc.Encode(ids); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	return nil
}
