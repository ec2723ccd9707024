package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// qwenPattern is the Split regex of Qwen2/Qwen3's tokenizer.json.
const qwenPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// tinyMerges are the merges of the hand-made test tokenizer, in rank order. Token ids: the 256
// byte tokens have id = byte value; merge i creates token 256+i.
var tinyMerges = [][2]string{
	{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, // 256..259: he ll hell hello
	{"Ġ", "w"}, {"o", "r"}, {"Ġw", "or"}, {"l", "d"}, {"Ġwor", "ld"}, // 260..264: ... Ġworld
}

// tinyFile returns a minimal valid byte-level BPE tokenizer.json (the shape a tokenizer
// builder for small vocabularies would write) as a map the tests can modify.
func tinyFile(pairMerges bool) map[string]any {
	vocab := map[string]int{}
	for c := 0; c < 256; c++ {
		vocab[bytesChar.toRuneStr[c]] = c
	}
	var merges []any
	for i, m := range tinyMerges {
		vocab[m[0]+m[1]] = 256 + i
		if pairMerges {
			merges = append(merges, []string{m[0], m[1]})
		} else {
			merges = append(merges, m[0]+" "+m[1])
		}
	}
	added := func(id int, content string, special bool) map[string]any {
		return map[string]any{"id": id, "content": content, "single_word": false, "lstrip": false,
			"rstrip": false, "normalized": false, "special": special}
	}
	return map[string]any{
		"version": "1.0",
		"added_tokens": []any{
			added(265, "<|endoftext|>", true), added(266, "<|im_start|>", true),
			added(267, "<|im_end|>", true), added(268, "<tool>", false),
		},
		"normalizer": map[string]any{"type": "NFC"},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": qwenPattern},
				"behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
		}},
		"post_processor": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
		"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil,
			"continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": false,
			"byte_fallback": false, "ignore_merges": false, "vocab": vocab, "merges": merges},
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tinyDir writes a model directory with the tiny tokenizer.json (after mod), and
// tokenizer_config.json / generation_config.json when given.
func tinyDir(t *testing.T, mod func(map[string]any), cfg, gen map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	f := tinyFile(true)
	if mod != nil {
		mod(f)
	}
	writeJSON(t, filepath.Join(dir, "tokenizer.json"), f)
	if cfg != nil {
		writeJSON(t, filepath.Join(dir, "tokenizer_config.json"), cfg)
	}
	if gen != nil {
		writeJSON(t, filepath.Join(dir, "generation_config.json"), gen)
	}
	return dir
}

// newTestTokenizer loads the tiny tokenizer with the given tokenizer_config.json.
func newTestTokenizer(t *testing.T, cfg map[string]any) *Tokenizer {
	t.Helper()
	tk, err := Load(tinyDir(t, nil, cfg, nil))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// addedTokens appends added tokens to a tokenizer.json map.
func addTokens(f map[string]any, toks ...map[string]any) {
	list := f["added_tokens"].([]any)
	for _, tk := range toks {
		full := map[string]any{"single_word": false, "lstrip": false, "rstrip": false,
			"normalized": false, "special": false}
		for k, v := range tk {
			full[k] = v
		}
		list = append(list, full)
	}
	f["added_tokens"] = list
}
