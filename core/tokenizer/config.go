package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// The JSON shapes of tokenizer.json (HF tokenizers' serialization), tokenizer_config.json and
// generation_config.json (transformers). Only fields grpo reads are declared; decoding fails
// on wrong types, and the builders reject component types grpo does not implement, naming the
// key, so an unsupported tokenizer is never silently mis-tokenized.

type fileJSON struct {
	AddedTokens   []addedTokenJSON `json:"added_tokens"`
	Normalizer    json.RawMessage  `json:"normalizer"`
	PreTokenizer  json.RawMessage  `json:"pre_tokenizer"`
	PostProcessor json.RawMessage  `json:"post_processor"`
	Decoder       json.RawMessage  `json:"decoder"`
	Model         modelJSON        `json:"model"`
}

type addedTokenJSON struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type modelJSON struct {
	Type                    string           `json:"type"`
	Vocab                   map[string]int32 `json:"vocab"`
	Merges                  []mergeJSON      `json:"merges"`
	UnkToken                *string          `json:"unk_token"`
	ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
	FuseUnk                 bool             `json:"fuse_unk"`
	ByteFallback            bool             `json:"byte_fallback"`
	IgnoreMerges            bool             `json:"ignore_merges"`
	Dropout                 *float64         `json:"dropout"`
}

// mergeJSON is one BPE merge, stored either as "a b" (older files, GPT-2, Llama-3) or as
// ["a", "b"] (tokenizers ≥ 0.20, Qwen2/Qwen3), which also allows tokens containing spaces.
type mergeJSON [2]string

func (m *mergeJSON) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var pair []string
		if err := json.Unmarshal(b, &pair); err != nil {
			return err
		}
		if len(pair) != 2 {
			return fmt.Errorf("merge %s has %d parts, want 2", b, len(pair))
		}
		m[0], m[1] = pair[0], pair[1]
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	// HF splits the string form on its first space (models/bpe/serialization.rs).
	i := bytes.IndexByte([]byte(s), ' ')
	if i < 0 {
		return fmt.Errorf("merge %q has no space between its two parts", s)
	}
	m[0], m[1] = s[:i], s[i+1:]
	return nil
}

// componentJSON is the common shape of normalizers, pre-tokenizers, post-processors and
// decoders: a "type" tag plus type-specific fields.
type componentJSON struct {
	Type string `json:"type"`
	// Sequence members (the key differs per component kind).
	Normalizers   []json.RawMessage `json:"normalizers"`
	Pretokenizers []json.RawMessage `json:"pretokenizers"`
	Processors    []json.RawMessage `json:"processors"`
	Decoders      []json.RawMessage `json:"decoders"`
	// Split.
	Pattern  *patternJSON `json:"pattern"`
	Behavior string       `json:"behavior"`
	Invert   bool         `json:"invert"`
	// ByteLevel (pre-tokenizer, post-processor and decoder).
	AddPrefixSpace bool  `json:"add_prefix_space"`
	UseRegex       *bool `json:"use_regex"`
	// TemplateProcessing.
	Single        json.RawMessage                `json:"single"`
	SpecialTokens map[string]templateSpecialJSON `json:"special_tokens"`
}

type patternJSON struct {
	Regex  *string `json:"Regex"`
	String *string `json:"String"`
}

type templateSpecialJSON struct {
	ID     string   `json:"id"`
	IDs    []int32  `json:"ids"`
	Tokens []string `json:"tokens"`
}

// configJSON is tokenizer_config.json as transformers writes it.
type configJSON struct {
	BOSToken                specialTokenJSON          `json:"bos_token"`
	EOSToken                specialTokenJSON          `json:"eos_token"`
	PadToken                specialTokenJSON          `json:"pad_token"`
	UnkToken                specialTokenJSON          `json:"unk_token"`
	AdditionalSpecialTokens []specialTokenJSON        `json:"additional_special_tokens"`
	AddBOSToken             *bool                     `json:"add_bos_token"`
	AddEOSToken             *bool                     `json:"add_eos_token"`
	SplitSpecialTokens      bool                      `json:"split_special_tokens"`
	ChatTemplate            chatTemplateJSON          `json:"chat_template"`
	AddedTokensDecoder      map[string]addedTokenJSON `json:"added_tokens_decoder"`
}

// specialTokenJSON is a special token of tokenizer_config.json: a string, null, or (older
// files) an AddedToken object {"content": "...", ...}.
type specialTokenJSON struct {
	Content string
	Set     bool
}

func (s *specialTokenJSON) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*s = specialTokenJSON{}
		return nil
	case len(b) > 0 && b[0] == '{':
		var obj struct {
			Content string `json:"content"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		*s = specialTokenJSON{Content: obj.Content, Set: true}
		return nil
	}
	if err := json.Unmarshal(b, &s.Content); err != nil {
		return err
	}
	s.Set = true
	return nil
}

// chatTemplateJSON is "chat_template": a Jinja string, or a list of named templates
// [{"name": "default", "template": "..."}, {"name": "tool_use", ...}] of which grpo uses
// "default" (as transformers does when no template name is asked for).
type chatTemplateJSON struct {
	Template string
	Names    []string
}

func (c *chatTemplateJSON) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var list []struct {
			Name     string `json:"name"`
			Template string `json:"template"`
		}
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		for _, t := range list {
			c.Names = append(c.Names, t.Name)
			if t.Name == "default" {
				c.Template = t.Template
			}
		}
		return nil
	}
	return json.Unmarshal(b, &c.Template)
}

// generationConfigJSON holds the token ids of generation_config.json; each may be a number
// or a list of numbers (Llama-3-Instruct lists all of its stop tokens under eos_token_id).
type generationConfigJSON struct {
	EOSTokenID idListJSON `json:"eos_token_id"`
}

type idListJSON []int32

func (l *idListJSON) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*l = nil
		return nil
	case len(b) > 0 && b[0] == '[':
		var ids []int32
		if err := json.Unmarshal(b, &ids); err != nil {
			return err
		}
		*l = ids
		return nil
	}
	var id int32
	if err := json.Unmarshal(b, &id); err != nil {
		return err
	}
	*l = idListJSON{id}
	return nil
}
