// Package data owns the training data of grpo: reading rows from JSONL, Parquet and Arrow files
// (a file, a directory of them, or a Hugging Face datasets cache / save_to_disk layout), choosing
// splits and columns, the repeat sampler that lays rows out in GRPO groups (RLT's
// RepeatRandomSampler), and building prompts and SFT examples from rows.
//
// Rows are JSON-like values (string, int64, float64, bool, nil, []any, map[string]any) keyed by
// column name; a Dataset keeps the column order of its source and, for every row, where it came
// from (file and line or row number), so that every error about a row can name it.
//
// The package reads files and shapes rows; it does not tokenize (a caller-supplied ChatFormatter
// applies the tokenizer's chat template), generate, score or train.
package data
