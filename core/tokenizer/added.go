package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of tokenizer.json's added_tokens (HF tokenizers AddedToken).
type addedToken struct {
	id         int32
	content    string
	singleWord bool // match only when not inside a word
	lstrip     bool // the match swallows the whitespace on its left
	rstrip     bool // the match swallows the whitespace on its right
	normalized bool // matched on the normalized text instead of the raw input
	special    bool // dropped by Decode(skipSpecial=true)
}

// piece is a span of the input after added-token extraction: an added token (id ≥ 0) or text
// still to be normalized, pre-tokenized and run through the model (id < 0).
type piece struct {
	text string
	id   int32
}

// addedMatcher finds added tokens in a string the way HF tokenizers' AddedVocabulary does
// (tokenizer/added_vocabulary.rs find_matches): non-overlapping leftmost-longest matches of
// the token contents, scanning left to right, then the single_word/lstrip/rstrip rules. A
// match rejected by single_word is skipped as a whole (the scan resumes after it), as with
// the Aho-Corasick iterator HF uses.
type addedMatcher struct {
	root  *trieNode
	first [256]bool // bytes that start some token, to skip quickly
	// skipSpecial is tokenizer_config.json's split_special_tokens: special tokens found in the
	// text are left as text (the scan still resumes after them, as HF's does).
	skipSpecial bool
}

type trieNode struct {
	next  map[byte]*trieNode
	token *addedToken // a token ends here
}

func newAddedMatcher(tokens []*addedToken, content func(*addedToken) string) *addedMatcher {
	m := &addedMatcher{root: &trieNode{}}
	n := 0
	for _, t := range tokens {
		s := content(t)
		if s == "" {
			continue
		}
		node := m.root
		for i := 0; i < len(s); i++ {
			if node.next == nil {
				node.next = map[byte]*trieNode{}
			}
			child := node.next[s[i]]
			if child == nil {
				child = &trieNode{}
				node.next[s[i]] = child
			}
			node = child
		}
		if node.token == nil {
			node.token = t
		}
		m.first[s[0]] = true
		n++
	}
	if n == 0 {
		return nil
	}
	return m
}

// longestAt returns the longest token starting at s[i:] and its end, or nil.
func (m *addedMatcher) longestAt(s string, i int) (*addedToken, int) {
	var best *addedToken
	end := 0
	node := m.root
	for j := i; j < len(s); j++ {
		node = node.next[s[j]]
		if node == nil {
			break
		}
		if node.token != nil {
			best, end = node.token, j+1
		}
	}
	return best, end
}

// split appends to dst the pieces of s: added tokens and the text between them.
func (m *addedMatcher) split(dst []piece, s string) []piece {
	if m == nil || s == "" {
		return append(dst, piece{text: s, id: -1})
	}
	startOffset := 0
	for i := 0; i < len(s); {
		if !m.first[s[i]] {
			i++
			continue
		}
		tok, stop := m.longestAt(s, i)
		if tok == nil {
			i++
			continue
		}
		start := i
		i = stop
		if m.skipSpecial && tok.special {
			continue
		}
		if tok.singleWord {
			startSpace := start == 0 || !endsWithWord(s[:start])
			stopSpace := stop == len(s) || !startsWithWord(s[stop:])
			if !startSpace || !stopSpace {
				continue
			}
		}
		if tok.lstrip {
			start = max(leftmostSpaceAtEnd(s[:start]), startOffset)
		}
		if tok.rstrip {
			stop += rightmostSpaceAtStart(s[stop:])
			i = stop
		}
		if startOffset < start {
			dst = append(dst, piece{text: s[startOffset:start], id: -1})
		}
		dst = append(dst, piece{text: s[start:stop], id: tok.id})
		startOffset = stop
	}
	if startOffset < len(s) {
		dst = append(dst, piece{text: s[startOffset:], id: -1})
	}
	return dst
}

// isWordRune is Rust regex's Unicode \w: Alphabetic, marks, decimal digits, connector
// punctuation and the join controls (UTS#18 Annex C), which HF uses for single_word.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) ||
		unicode.Is(unicode.Pc, r) || unicode.Is(unicode.Nl, r) ||
		unicode.Is(unicode.Other_Alphabetic, r) || r == 0x200C || r == 0x200D
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && isWordRune(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isWordRune(r)
}

// leftmostSpaceAtEnd is the byte offset where the run of whitespace ending s begins.
func leftmostSpaceAtEnd(s string) int {
	i := len(s)
	for i > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:i])
		if !unicode.IsSpace(r) {
			break
		}
		i -= n
	}
	return i
}

// rightmostSpaceAtStart is the byte length of the run of whitespace starting s.
func rightmostSpaceAtStart(s string) int {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += n
	}
	return i
}
