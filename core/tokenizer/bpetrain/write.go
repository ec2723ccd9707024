package bpetrain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// ChatMLTemplate is a minimal ChatML chat template (Qwen2.5's without tools and without a
// default system message): each message as <|im_start|>ROLE\nCONTENT<|im_end|>\n, then
// <|im_start|>assistant\n when a generation prompt is asked for.
const ChatMLTemplate = "{%- for message in messages %}" +
	"{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
	"{%- endfor %}" +
	"{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"

// ChatMLTokens are the special tokens ChatMLTemplate uses, Qwen's: the document end (pad), the
// turn start, and the turn end (EOS of a chat model).
var ChatMLTokens = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}

// WriteOptions say how the tokenizer is presented to transformers.
type WriteOptions struct {
	// EOSToken and PadToken name special tokens (tokenizer_config.json eos_token, pad_token);
	// "" leaves them unset.
	EOSToken, PadToken string
	// ChatTemplate is written into tokenizer_config.json ("" = none).
	ChatTemplate string
	// ModelMaxLength is model_max_length (0 = not written).
	ModelMaxLength int
}

// WriteDir writes tokenizer.json and tokenizer_config.json into dir.
func (t *Tokenizer) WriteDir(dir string, opts WriteOptions) error {
	for _, s := range []string{opts.EOSToken, opts.PadToken} {
		if s != "" && !slices.Contains(t.Special, s) {
			return fmt.Errorf("bpetrain: %q is not one of the special tokens %q", s, t.Special)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tj, err := t.tokenizerJSON()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), tj, 0o644); err != nil {
		return err
	}
	cj, err := t.configJSON(opts)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), cj, 0o644)
}

// byteLevelComponent is the ByteLevel pre-tokenizer/post-processor/decoder entry of Qwen2's
// tokenizer.json (no prefix space, offsets untrimmed, no regex of its own).
var byteLevelComponent = map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}

func (t *Tokenizer) addedTokens() []map[string]any {
	var out []map[string]any
	for i, s := range t.Special {
		out = append(out, map[string]any{"id": len(t.Vocab) + i, "content": s, "single_word": false,
			"lstrip": false, "rstrip": false, "normalized": false, "special": true})
	}
	return out
}

// tokenizerJSON renders tokenizer.json in HF tokenizers' serialisation (version 1.0), with the
// vocabulary in id order.
func (t *Tokenizer) tokenizerJSON() ([]byte, error) {
	var vocab bytes.Buffer
	vocab.WriteString("{")
	for id, s := range t.Vocab {
		k, err := json.Marshal(s)
		if err != nil {
			return nil, err
		}
		if id > 0 {
			vocab.WriteString(",")
		}
		fmt.Fprintf(&vocab, "\n      %s: %d", k, id)
	}
	vocab.WriteString("\n    }")
	merges := make([][2]string, len(t.Merges))
	copy(merges, t.Merges)
	doc := struct {
		Version       string           `json:"version"`
		Truncation    any              `json:"truncation"`
		Padding       any              `json:"padding"`
		AddedTokens   []map[string]any `json:"added_tokens"`
		Normalizer    any              `json:"normalizer"`
		PreTokenizer  any              `json:"pre_tokenizer"`
		PostProcessor any              `json:"post_processor"`
		Decoder       any              `json:"decoder"`
		Model         any              `json:"model"`
	}{
		Version:     "1.0",
		AddedTokens: t.addedTokens(),
		Normalizer:  map[string]any{"type": "NFC"},
		PreTokenizer: map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": t.Pattern}, "behavior": "Isolated", "invert": false},
			byteLevelComponent,
		}},
		PostProcessor: byteLevelComponent,
		Decoder:       byteLevelComponent,
		Model: map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "",
			"end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
			"vocab": json.RawMessage(vocab.Bytes()), "merges": merges},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// configJSON renders tokenizer_config.json as transformers' Qwen2TokenizerFast writes it.
func (t *Tokenizer) configJSON(opts WriteOptions) ([]byte, error) {
	decoder := map[string]any{}
	for _, a := range t.addedTokens() {
		id := a["id"].(int)
		delete(a, "id")
		decoder[fmt.Sprint(id)] = a
	}
	cfg := map[string]any{
		"added_tokens_decoder":         decoder,
		"additional_special_tokens":    []string{},
		"bos_token":                    nil,
		"clean_up_tokenization_spaces": false,
		"errors":                       "replace",
		"split_special_tokens":         false,
		"tokenizer_class":              "Qwen2Tokenizer",
		"unk_token":                    nil,
	}
	if opts.EOSToken != "" {
		cfg["eos_token"] = opts.EOSToken
	}
	if opts.PadToken != "" {
		cfg["pad_token"] = opts.PadToken
	}
	if opts.ChatTemplate != "" {
		cfg["chat_template"] = opts.ChatTemplate
	}
	if opts.ModelMaxLength > 0 {
		cfg["model_max_length"] = opts.ModelMaxLength
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(cfg); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ChatMLText is what ChatMLTemplate renders for a user message and the assistant's reply: the
// text a chat model is trained on, and so the corpus to learn merges from for such data.
func ChatMLText(user, assistant string) string {
	return "<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n" + assistant + "<|im_end|>\n"
}
