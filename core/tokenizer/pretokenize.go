package tokenizer

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/dlclark/regexp2/v2"
)

// gpt2Pattern is the split regex the ByteLevel pre-tokenizer applies when use_regex is true
// (HF tokenizers pre_tokenizers/byte_level.rs, from GPT-2's encoder.py).
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// preTokenizer cuts normalized text into words for the model (HF tokenizers pre_tokenizers):
// a chain of splitters, then the byte-level mapping when the file has a ByteLevel step.
// The mapping itself is not applied here: the BPE model works on the raw bytes of each word
// (see bpe.go), which is the same as mapping them first and looking the runes up.
type preTokenizer struct {
	steps     []splitter
	byteLevel bool
}

// splitter appends the pieces of s to dst. Pieces are substrings of s, or s with a prefix.
type splitter interface {
	split(dst []string, s string) []string
}

// buildPreTokenizer reads tokenizer.json's "pre_tokenizer".
func buildPreTokenizer(raw json.RawMessage) (*preTokenizer, error) {
	p := &preTokenizer{}
	if isNull(raw) {
		return p, nil
	}
	if err := p.add(raw, "pre_tokenizer"); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *preTokenizer) add(raw json.RawMessage, key string) error {
	var c componentJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if p.byteLevel {
		// Later steps would see byte-level runes; no known byte-level file does this.
		return fmt.Errorf("%s: %s after ByteLevel is not supported", key, c.Type)
	}
	switch c.Type {
	case "Sequence":
		for i, m := range c.Pretokenizers {
			if err := p.add(m, fmt.Sprintf("%s.pretokenizers[%d]", key, i)); err != nil {
				return err
			}
		}
		return nil
	case "Split":
		s, err := newSplit(c, key)
		if err != nil {
			return err
		}
		p.steps = append(p.steps, s)
		return nil
	case "ByteLevel":
		if c.AddPrefixSpace {
			p.steps = append(p.steps, prefixSpace{})
		}
		if c.UseRegex == nil || *c.UseRegex { // HF's default is true
			s, err := compileSplit(gpt2Pattern, behaviorIsolated, false, key)
			if err != nil {
				return err
			}
			p.steps = append(p.steps, s)
		}
		p.byteLevel = true
		return nil
	}
	return fmt.Errorf("%s type %q is not supported (grpo reads byte-level BPE tokenizers: "+
		"Split, ByteLevel, Sequence)", key, c.Type)
}

// words appends the words of s to dst.
func (p *preTokenizer) words(dst []string, s string) []string {
	switch len(p.steps) {
	case 0:
		return append(dst, s)
	case 1:
		return p.steps[0].split(dst, s)
	}
	cur := []string{s}
	var next []string
	for i, st := range p.steps {
		if i == len(p.steps)-1 {
			for _, w := range cur {
				dst = st.split(dst, w)
			}
			return dst
		}
		next = next[:0]
		for _, w := range cur {
			next = st.split(next, w)
		}
		cur, next = next, cur
	}
	return dst
}

// prefixSpace is ByteLevel's add_prefix_space: a piece not starting with a space gets one.
type prefixSpace struct{}

func (prefixSpace) split(dst []string, s string) []string {
	if len(s) > 0 && s[0] == ' ' {
		return append(dst, s)
	}
	return append(dst, " "+s)
}

// Split behaviours (HF tokenizers SplitDelimiterBehavior).
const (
	behaviorRemoved = iota
	behaviorIsolated
	behaviorMergedWithPrevious
	behaviorMergedWithNext
	behaviorContiguous
)

var behaviors = map[string]int{
	"Removed": behaviorRemoved, "Isolated": behaviorIsolated,
	"MergedWithPrevious": behaviorMergedWithPrevious, "MergedWithNext": behaviorMergedWithNext,
	"Contiguous": behaviorContiguous,
}

// regexSplit is the Split pre-tokenizer. HF compiles its pattern with Oniguruma, a
// backtracking engine; Go's regexp (RE2) cannot run the lookahead `\s+(?!\S)` of every
// GPT-style pattern, so grpo uses regexp2, a backtracking engine with the same leftmost-first
// alternation semantics, Unicode \s \p{L} \p{N} classes and simple case folding.
type regexSplit struct {
	re       *regexp2.Regexp
	behavior int
	invert   bool
}

// newSplit builds the Split pre-tokenizer: gptSplit for the Qwen2 and Llama-3 patterns,
// regexSplit for any other.
func newSplit(c componentJSON, key string) (splitter, error) {
	b, ok := behaviors[c.Behavior]
	if !ok {
		return nil, fmt.Errorf("%s.behavior %q is not one of Removed, Isolated, "+
			"MergedWithPrevious, MergedWithNext, Contiguous", key, c.Behavior)
	}
	switch {
	case c.Pattern == nil:
		return nil, fmt.Errorf("%s: Split has no pattern", key)
	case c.Pattern.Regex != nil:
		if g, ok := newGPTSplit(*c.Pattern.Regex); ok && b == behaviorIsolated && !c.Invert {
			return g, nil
		}
		return compileSplit(*c.Pattern.Regex, b, c.Invert, key)
	case c.Pattern.String != nil:
		return compileSplit(regexp2.Escape(*c.Pattern.String), b, c.Invert, key)
	}
	return nil, fmt.Errorf("%s.pattern has neither Regex nor String", key)
}

func compileSplit(pattern string, behavior int, invert bool, key string) (*regexSplit, error) {
	// No backtracking limit: a long run of spaces makes `\s+(?!\S)` backtrack once per rune,
	// and an encoder must not fail on long inputs.
	re, err := regexp2.Compile(pattern, regexp2.OptionMaxBacktrackingStackSize(-1))
	if err != nil {
		return nil, fmt.Errorf("%s.pattern %q does not compile: %w", key, pattern, err)
	}
	return &regexSplit{re: re, behavior: behavior, invert: invert}, nil
}

// IsolatedPieces appends to dst the pieces of s that a Split pre-tokenizer with the Isolated
// behaviour (and no invert) makes from the regex matches idx (FindAllStringIndex of s): every
// match and every gap between matches, in order, empty ones left out. bpetrain splits its corpus
// with it, so that the words it merges are the words the encoder will see.
func IsolatedPieces(dst []string, s string, idx [][]int) []string {
	prev := 0
	for _, m := range idx {
		if m[0] > prev {
			dst = append(dst, s[prev:m[0]])
		}
		if m[1] > m[0] {
			dst = append(dst, s[m[0]:m[1]])
		}
		prev = m[1]
	}
	if prev < len(s) {
		dst = append(dst, s[prev:])
	}
	return dst
}

type span struct {
	start, end int
	match      bool
}

func (r *regexSplit) split(dst []string, s string) []string {
	if s == "" {
		return dst
	}
	idx, err := r.re.FindAllStringIndex(s, -1)
	if err != nil {
		// Unreachable without a match timeout or stack limit; keep the text rather than drop it.
		slog.Error("tokenizer: pre-tokenizer regex failed; encoding the piece unsplit",
			"pattern", r.re.String(), "err", err)
		return append(dst, s)
	}
	if r.behavior == behaviorIsolated && !r.invert {
		// The common case (every GPT-style file): matches and the gaps between them.
		return IsolatedPieces(dst, s, idx)
	}
	// General case, as NormalizedString::split (tokenizer/normalizer.rs).
	spans := make([]span, 0, 2*len(idx)+1)
	prev := 0
	for _, m := range idx {
		if m[0] > prev {
			spans = append(spans, span{prev, m[0], r.invert})
		}
		spans = append(spans, span{m[0], m[1], !r.invert})
		prev = m[1]
	}
	if prev < len(s) {
		spans = append(spans, span{prev, len(s), r.invert})
	}
	for _, sp := range applyBehavior(spans, r.behavior) {
		if sp.end > sp.start {
			dst = append(dst, s[sp.start:sp.end])
		}
	}
	return dst
}

// applyBehavior turns matched/unmatched spans into the kept pieces; the field match of the
// result is unused.
func applyBehavior(spans []span, behavior int) []span {
	var out []span
	switch behavior {
	case behaviorIsolated:
		return spans
	case behaviorRemoved:
		for _, sp := range spans {
			if !sp.match {
				out = append(out, sp)
			}
		}
	case behaviorContiguous:
		prevMatch := false
		for _, sp := range spans {
			if sp.match == prevMatch && len(out) > 0 {
				out[len(out)-1].end = sp.end
			} else {
				out = append(out, sp)
			}
			prevMatch = sp.match
		}
	case behaviorMergedWithPrevious:
		prevMatch := false
		for _, sp := range spans {
			if sp.match && !prevMatch && len(out) > 0 {
				out[len(out)-1].end = sp.end
			} else {
				out = append(out, sp)
			}
			prevMatch = sp.match
		}
	case behaviorMergedWithNext:
		prevMatch := false
		for i := len(spans) - 1; i >= 0; i-- {
			sp := spans[i]
			if sp.match && !prevMatch && len(out) > 0 {
				out[len(out)-1].start = sp.start
			} else {
				out = append(out, sp)
			}
			prevMatch = sp.match
		}
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}
