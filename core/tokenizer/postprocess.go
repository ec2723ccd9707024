package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
)

// postProcessor adds the special tokens of a single sequence when Encode's addSpecial is set
// (HF tokenizers processors). ByteLevel's post-processing only trims offsets, which grpo does
// not track, so it adds nothing.
type postProcessor struct {
	prefix, suffix []int32
}

func (p *postProcessor) apply(ids []int32) []int32 {
	if len(p.prefix) == 0 && len(p.suffix) == 0 {
		return ids
	}
	out := make([]int32, 0, len(p.prefix)+len(ids)+len(p.suffix))
	out = append(out, p.prefix...)
	out = append(out, ids...)
	return append(out, p.suffix...)
}

// buildPostProcessor reads tokenizer.json's "post_processor".
func buildPostProcessor(raw json.RawMessage, tokenID func(string) (int32, bool)) (*postProcessor, error) {
	p := &postProcessor{}
	if isNull(raw) {
		return p, nil
	}
	return p, p.add(raw, "post_processor", tokenID)
}

func (p *postProcessor) add(raw json.RawMessage, key string, tokenID func(string) (int32, bool)) error {
	var c componentJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	switch c.Type {
	case "ByteLevel":
		return nil
	case "Sequence":
		for i, m := range c.Processors {
			if err := p.add(m, fmt.Sprintf("%s.processors[%d]", key, i), tokenID); err != nil {
				return err
			}
		}
		return nil
	case "TemplateProcessing":
		return p.addTemplate(c, key, tokenID)
	}
	return fmt.Errorf("%s type %q is not supported (grpo reads TemplateProcessing, ByteLevel, "+
		"Sequence)", key, c.Type)
}

// addTemplate reads TemplateProcessing's "single" template: special-token pieces around the
// one sequence piece $A, e.g. Llama-3's [<|begin_of_text|>, $A]. Pair templates are for
// sentence pairs, which grpo never encodes.
func (p *postProcessor) addTemplate(c componentJSON, key string, tokenID func(string) (int32, bool)) error {
	var pieces []templatePiece
	// The single template is a list of pieces, or (hand-written files) a string "<s> $A".
	var asString string
	if err := json.Unmarshal(c.Single, &asString); err == nil {
		for _, f := range strings.Fields(asString) {
			name, _, _ := strings.Cut(f, ":") // drop a type id suffix ("$A:0")
			if strings.HasPrefix(name, "$") {
				pieces = append(pieces, templatePiece{Sequence: &templateRef{ID: "A"}})
			} else {
				pieces = append(pieces, templatePiece{SpecialToken: &templateRef{ID: name}})
			}
		}
	} else if err := json.Unmarshal(c.Single, &pieces); err != nil {
		return fmt.Errorf("%s.single: %w", key, err)
	}
	seen := false
	for i, pc := range pieces {
		switch {
		case pc.Sequence != nil:
			if seen {
				return fmt.Errorf("%s.single[%d]: more than one sequence piece", key, i)
			}
			seen = true
		case pc.SpecialToken != nil:
			ids, err := templateIDs(c, pc.SpecialToken.ID, tokenID)
			if err != nil {
				return fmt.Errorf("%s.single[%d]: %w", key, i, err)
			}
			if seen {
				p.suffix = append(p.suffix, ids...)
			} else {
				p.prefix = append(p.prefix, ids...)
			}
		default:
			return fmt.Errorf("%s.single[%d]: neither SpecialToken nor Sequence", key, i)
		}
	}
	if !seen {
		return fmt.Errorf("%s.single has no sequence piece ($A)", key)
	}
	return nil
}

// templateIDs resolves a template's special token through its special_tokens table (or, for
// the string form, the vocabulary).
func templateIDs(c componentJSON, name string, tokenID func(string) (int32, bool)) ([]int32, error) {
	if st, ok := c.SpecialTokens[name]; ok {
		if len(st.IDs) == 0 {
			return nil, fmt.Errorf("special token %q has no ids", name)
		}
		return st.IDs, nil
	}
	if id, ok := tokenID(name); ok {
		return []int32{id}, nil
	}
	return nil, fmt.Errorf("special token %q is neither in special_tokens nor in the vocabulary", name)
}

// templatePiece is one element of a TemplateProcessing template.
type templatePiece struct {
	SpecialToken *templateRef `json:"SpecialToken"`
	Sequence     *templateRef `json:"Sequence"`
}

type templateRef struct {
	ID string `json:"id"`
}
