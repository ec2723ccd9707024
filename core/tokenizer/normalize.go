package tokenizer

import (
	"encoding/json"
	"fmt"

	"golang.org/x/text/unicode/norm"
)

// normalizer rewrites the text between added tokens before pre-tokenization (HF tokenizers
// normalizers). Byte-level BPE files use NFC (Qwen2/Qwen3) or none (GPT-2, Llama-3).
type normalizer func(string) string

// buildNormalizer reads tokenizer.json's "normalizer"; null gives nil (identity).
func buildNormalizer(raw json.RawMessage) (normalizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	var c componentJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	switch c.Type {
	case "NFC":
		return norm.NFC.String, nil
	case "NFD":
		return norm.NFD.String, nil
	case "NFKC":
		return norm.NFKC.String, nil
	case "NFKD":
		return norm.NFKD.String, nil
	case "Sequence":
		var steps []normalizer
		for i, m := range c.Normalizers {
			n, err := buildNormalizer(m)
			if err != nil {
				return nil, fmt.Errorf("normalizer.normalizers[%d]: %w", i, err)
			}
			if n != nil {
				steps = append(steps, n)
			}
		}
		switch len(steps) {
		case 0:
			return nil, nil
		case 1:
			return steps[0], nil
		}
		return func(s string) string {
			for _, n := range steps {
				s = n(s)
			}
			return s
		}, nil
	}
	return nil, fmt.Errorf("normalizer type %q is not supported (grpo reads byte-level BPE "+
		"tokenizers: NFC, NFD, NFKC, NFKD, Sequence or null)", c.Type)
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}
