package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// The Split regexes of the GPT-4-style byte-level tokenizers, as their tokenizer.json files
// spell them. Qwen2/Qwen3 split digits one by one, Llama-3 (like OpenAI's cl100k) in groups of
// up to three.
const (
	qwen2SplitPattern  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	llama3SplitPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// gptSplit is a hand-written matcher for exactly those two patterns with the Isolated
// behaviour. With a backtracking engine the pre-tokenizer regex is most of the encoding time
// (BenchmarkEncode on 2 cores: 13-18 MB/s with regexp2, 44-47 MB/s with this), so the two
// patterns every Qwen and Llama-3 checkpoint carries get a direct implementation of the same
// leftmost-first alternation; any other pattern runs on regexp2. TestGPTSplitMatchesRegexp
// compares the two on random text built from the characters where the alternatives differ.
type gptSplit struct {
	maxDigits int // the n of \p{N}{1,n}
}

func newGPTSplit(pattern string) (gptSplit, bool) {
	switch pattern {
	case qwen2SplitPattern:
		return gptSplit{maxDigits: 1}, true
	case llama3SplitPattern:
		return gptSplit{maxDigits: 3}, true
	}
	return gptSplit{}, false
}

func (g gptSplit) split(dst []string, s string) []string {
	for i := 0; i < len(s); {
		n := g.matchAt(s, i)
		dst = append(dst, s[i:i+n])
		i += n
	}
	return dst
}

// Character classes of the pattern: \p{L}, \p{N}, \s (Unicode White_Space, as Oniguruma and
// regexp2 define it) and everything else.
const (
	classOther = iota
	classLetter
	classNumber
	classSpace
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := rune(0); c < utf8.RuneSelf; c++ {
		t[c] = classOf(c)
	}
	return t
}()

func classOf(c rune) uint8 {
	switch {
	case unicode.IsLetter(c):
		return classLetter
	case unicode.IsNumber(c):
		return classNumber
	case unicode.IsSpace(c):
		return classSpace
	}
	return classOther
}

// at decodes the rune at s[i] and its class.
func at(s string, i int) (rune, int, uint8) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1, asciiClass[c]
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	return r, w, classOf(r)
}

// runOf returns the end of the run of class cls starting at i.
func runOf(s string, i int, cls uint8) int {
	for i < len(s) {
		_, w, c := at(s, i)
		if c != cls {
			break
		}
		i += w
	}
	return i
}

// matchAt returns the length of the match starting at s[i]. Every rune starts a match of
// some alternative, so the matches tile the string.
func (g gptSplit) matchAt(s string, i int) int {
	c0, w0, k0 := at(s, i)
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if c0 == '\'' {
		if n := contraction(s[i+1:]); n > 0 {
			return 1 + n
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if k0 == classLetter {
		return runOf(s, i+w0, classLetter) - i
	}
	if c0 != '\r' && c0 != '\n' && k0 != classNumber && i+w0 < len(s) {
		if _, w1, k1 := at(s, i+w0); k1 == classLetter {
			return runOf(s, i+w0+w1, classLetter) - i
		}
	}
	// \p{N}{1,maxDigits}
	if k0 == classNumber {
		j := i + w0
		for n := 1; n < g.maxDigits && j < len(s); n++ {
			_, w, k := at(s, j)
			if k != classNumber {
				break
			}
			j += w
		}
		return j - i
	}
	//  ?[^\s\p{L}\p{N}]+[\r\n]*
	j := i
	if c0 == ' ' {
		j++
	}
	if j < len(s) {
		if _, w, k := at(s, j); k == classOther {
			j = runOf(s, j+w, classOther)
			for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
				j++
			}
			return j - i
		}
	}
	// c0 is whitespace here. \s*[\r\n]+ : up to the last \r or \n of the whitespace run.
	end, lastNL := i, -1
	for end < len(s) {
		c, w, k := at(s, end)
		if k != classSpace {
			break
		}
		if c == '\r' || c == '\n' {
			lastNL = end
		}
		end += w
	}
	if lastNL >= 0 {
		return lastNL + 1 - i
	}
	// \s+(?!\S) : the run, less its last rune when a non-space follows.
	if end < len(s) {
		if _, wl := utf8.DecodeLastRuneInString(s[i:end]); end-wl > i {
			return end - wl - i
		}
	}
	// \s+
	return end - i
}

// contraction returns the length of 's 't 're 've 'm 'll 'd (any case) at the start of s,
// after the apostrophe, or 0. Case-insensitive matching uses Unicode simple case folding,
// under which ſ (U+017F, long s) matches s, as Oniguruma and regexp2 both do.
func contraction(s string) int {
	fold := func(i int, lower byte) (int, bool) {
		if i >= len(s) {
			return 0, false
		}
		c := s[i]
		if c == lower || c == lower-'a'+'A' {
			return 1, true
		}
		if lower == 's' && len(s) >= i+2 && s[i] == 0xC5 && s[i+1] == 0xBF { // ſ
			return 2, true
		}
		return 0, false
	}
	for _, alt := range [...]string{"s", "t", "re", "ve", "m", "ll", "d"} {
		n, ok := 0, true
		for k := 0; k < len(alt) && ok; k++ {
			var w int
			w, ok = fold(n, alt[k])
			n += w
		}
		if ok {
			return n
		}
	}
	return 0
}
