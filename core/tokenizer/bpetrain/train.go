// Package bpetrain learns a byte-level BPE tokenizer from a text corpus and writes it in the
// Hugging Face tokenizer.json layout that core/tokenizer (and transformers) load: Qwen2's
// pre-tokenizer (its Split regex, which cuts digits one by one, then ByteLevel), NFC
// normalisation, the ByteLevel decoder and post-processor, and special tokens added after the
// BPE vocabulary as Qwen's are.
//
// It is the same algorithm as Hugging Face tokenizers' BpeTrainer (models/bpe/trainer.rs): the
// corpus is pre-tokenized into words and counted; the alphabet is all 256 byte-level symbols;
// then the most frequent adjacent symbol pair over all words (weighted by word count) is merged
// into a new symbol, again and again, until the vocabulary is full or no pair occurs
// min_frequency times. Ties between equally frequent pairs go to the pair whose spelling sorts
// first, so a corpus always gives the same tokenizer.
//
// Written here rather than taken from a library: the only complete trainer is the Rust
// tokenizers crate (Python/Rust only); Go ports such as sugarme/tokenizer do not implement the
// GPT-4-style split regex. The demo needs only a small vocabulary over a small corpus, for which
// this straightforward version trains in well under a second.
package bpetrain

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dlclark/regexp2/v2"

	"github.com/grpo-dev/grpo/core/tokenizer"
)

// Qwen2Pattern is the Split regex of Qwen2/Qwen2.5/Qwen3's tokenizer.json: contractions, letter
// runs with one leading non-letter, single digits, punctuation runs, newlines and spaces.
const Qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// Config controls training.
type Config struct {
	// VocabSize is the size of the whole vocabulary: 256 byte symbols, the merges, and the
	// special tokens. Training stops earlier when every word is one symbol or no pair is
	// frequent enough.
	VocabSize int
	// MinFrequency is the fewest occurrences a pair needs to be merged (HF's min_frequency;
	// 0 means 2: a pair seen once gains nothing).
	MinFrequency int
	// SpecialTokens are added after the BPE vocabulary, in this order (ids VocabSize−k…). They
	// are cut out of the corpus before counting.
	SpecialTokens []string
	// Pattern is the pre-tokenizer's Split regex ("" = Qwen2Pattern).
	Pattern string
}

// Tokenizer is a trained byte-level BPE vocabulary.
type Tokenizer struct {
	// Vocab lists the BPE symbols by id, in byte-level spelling ("Ġthe"): the 256 byte
	// symbols (ids 0–255, in byte order), then one symbol per merge.
	Vocab []string
	// Merges are the learned merges in priority order (first = merged first when encoding).
	Merges [][2]string
	// Special are the special tokens; token Special[i] has id len(Vocab)+i.
	Special []string
	// Pattern is the pre-tokenizer regex the corpus was split with.
	Pattern string
}

// word is one distinct pre-tokenized word: its current symbols and how often it occurs.
type word struct {
	syms  []int32
	count int
}

type pair struct{ a, b int32 }

// Train learns a tokenizer from texts.
func Train(texts []string, cfg Config) (*Tokenizer, error) {
	if cfg.Pattern == "" {
		cfg.Pattern = Qwen2Pattern
	}
	if cfg.MinFrequency <= 0 {
		cfg.MinFrequency = 2
	}
	if min := 256 + len(cfg.SpecialTokens); cfg.VocabSize < min {
		return nil, fmt.Errorf("bpetrain: vocab size %d is below the %d byte symbols plus %d special tokens", cfg.VocabSize, 256, len(cfg.SpecialTokens))
	}
	seen := map[string]bool{}
	for _, s := range cfg.SpecialTokens {
		if s == "" || seen[s] {
			return nil, fmt.Errorf("bpetrain: special token %q is empty or repeated", s)
		}
		seen[s] = true
	}
	re, err := regexp2.Compile(cfg.Pattern, regexp2.OptionMaxBacktrackingStackSize(-1))
	if err != nil {
		return nil, fmt.Errorf("bpetrain: pre-tokenizer pattern: %w", err)
	}
	counts := map[string]int{}
	for i, text := range texts {
		for _, piece := range splitSpecial(text, cfg.SpecialTokens) {
			words, err := splitWords(re, piece)
			if err != nil {
				return nil, fmt.Errorf("bpetrain: pre-tokenizing text %d: %w", i, err)
			}
			for _, w := range words {
				counts[w]++
			}
		}
	}

	t := &Tokenizer{Special: slices.Clone(cfg.SpecialTokens), Pattern: cfg.Pattern}
	ids := map[string]int32{}
	for b := range 256 {
		s := string(byteChars[b])
		ids[s] = int32(len(t.Vocab))
		t.Vocab = append(t.Vocab, s)
	}
	// Words in sorted order, so that counting and tie-breaking never depend on map order.
	keys := make([]string, 0, len(counts))
	for w := range counts {
		keys = append(keys, w)
	}
	slices.Sort(keys)
	words := make([]word, len(keys))
	for i, w := range keys {
		for _, c := range byteLevel(w) {
			words[i].syms = append(words[i].syms, ids[c])
		}
		words[i].count = counts[w]
	}

	st := newPairStats(words)
	for len(t.Vocab)+len(t.Special) < cfg.VocabSize {
		best, n := st.best(t.Vocab)
		if n < cfg.MinFrequency {
			break
		}
		merged := t.Vocab[best.a] + t.Vocab[best.b]
		id := int32(len(t.Vocab))
		t.Vocab = append(t.Vocab, merged)
		t.Merges = append(t.Merges, [2]string{t.Vocab[best.a], t.Vocab[best.b]})
		st.merge(words, best, id)
	}
	return t, nil
}

// splitSpecial returns the parts of text between occurrences of the special tokens.
func splitSpecial(text string, special []string) []string {
	parts := []string{text}
	for _, s := range special {
		var next []string
		for _, p := range parts {
			next = append(next, strings.Split(p, s)...)
		}
		parts = next
	}
	return parts
}

// splitWords applies the Split pre-tokenizer with the Isolated behaviour: every match is a word,
// and so is every stretch of text between matches.
func splitWords(re *regexp2.Regexp, s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	idx, err := re.FindAllStringIndex(s, -1)
	if err != nil {
		return nil, err
	}
	return tokenizer.IsolatedPieces(nil, s, idx), nil
}

// pairStats counts adjacent symbol pairs over the words (weighted by word count) and remembers
// which words hold each pair, so that a merge only revisits those words.
type pairStats struct {
	count map[pair]int
	where map[pair]map[int]bool
}

func newPairStats(words []word) *pairStats {
	st := &pairStats{count: map[pair]int{}, where: map[pair]map[int]bool{}}
	for i := range words {
		st.add(words, i, +1)
	}
	return st
}

// add adds (sign +1) or removes (−1) word i's pairs.
func (st *pairStats) add(words []word, i int, sign int) {
	w := words[i]
	for j := 0; j+1 < len(w.syms); j++ {
		p := pair{w.syms[j], w.syms[j+1]}
		st.count[p] += sign * w.count
		if sign > 0 {
			if st.where[p] == nil {
				st.where[p] = map[int]bool{}
			}
			st.where[p][i] = true
			continue
		}
		delete(st.where[p], i)
		if st.count[p] <= 0 {
			delete(st.count, p)
			delete(st.where, p)
		}
	}
}

// best returns the most frequent pair; ties go to the pair whose (left, right) spelling sorts
// first.
func (st *pairStats) best(vocab []string) (pair, int) {
	var bp pair
	bn := 0
	for p, n := range st.count {
		if n > bn || (n == bn && less(vocab, p, bp)) {
			bp, bn = p, n
		}
	}
	return bp, bn
}

func less(vocab []string, p, q pair) bool {
	if vocab[p.a] != vocab[q.a] {
		return vocab[p.a] < vocab[q.a]
	}
	return vocab[p.b] < vocab[q.b]
}

// merge replaces every occurrence of p by the symbol id in the words that hold it, left to
// right without overlap (as BPE encoding applies a merge), and updates the counts.
func (st *pairStats) merge(words []word, p pair, id int32) {
	holders := make([]int, 0, len(st.where[p]))
	for i := range st.where[p] {
		holders = append(holders, i)
	}
	slices.Sort(holders)
	for _, i := range holders {
		st.add(words, i, -1)
		syms := words[i].syms
		out := syms[:0:0]
		for j := 0; j < len(syms); j++ {
			if j+1 < len(syms) && syms[j] == p.a && syms[j+1] == p.b {
				out = append(out, id)
				j++
				continue
			}
			out = append(out, syms[j])
		}
		words[i].syms = out
		st.add(words, i, +1)
	}
	delete(st.count, p)
	delete(st.where, p)
}
