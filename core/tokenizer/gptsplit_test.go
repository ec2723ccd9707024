package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// splitPair returns the hand-written and the regexp2 splitter for pattern.
func splitPair(t testing.TB, pattern string) (gptSplit, *regexSplit) {
	g, ok := newGPTSplit(pattern)
	if !ok {
		t.Fatalf("pattern not recognised")
	}
	re, err := compileSplit(pattern, behaviorIsolated, false, "test")
	if err != nil {
		t.Fatal(err)
	}
	return g, re
}

// gptSplitAlphabet holds the characters where the pattern's alternatives differ: apostrophes
// and contraction letters in both cases (and ſ, which folds to s), letters of several
// scripts, combining marks (neither letter nor number), decimal and other numbers, every
// kind of whitespace including \r \n NEL NBSP and U+3000, punctuation, emoji, U+FEFF.
var gptSplitAlphabet = []string{
	"'", "'", "s", "S", "ſ", "t", "T", "r", "R", "e", "E", "v", "V", "m", "M", "l", "L", "d", "D",
	"a", "z", "é", "ß", "你", "好", "カ", "한", "Ω", "ж",
	"\u0301", "\u0308", "\u093f",
	"0", "7", "٣", "²", "½", "Ⅻ",
	" ", " ", " ", "\t", "\n", "\r", "\r\n", "\v", "\f", "\u0085", "\u00a0", "\u2028", "\u3000", "\u200b", "\ufeff",
	".", ",", "!", "?", "-", "_", "(", ")", "$", "%", "\\", "\"", "<|", "|>", "«", "—",
	"😀", "👍🏽", "\u200d",
}

func randomGPTText(r *rand.Rand) string {
	var b strings.Builder
	for range 1 + r.IntN(24) {
		b.WriteString(gptSplitAlphabet[r.IntN(len(gptSplitAlphabet))])
	}
	return b.String()
}

// TestGPTSplitMatchesRegexp compares the hand-written splitter with regexp2 running the
// pattern itself, on 40,000 random strings per pattern.
func TestGPTSplitMatchesRegexp(t *testing.T) {
	for _, pattern := range []string{qwen2SplitPattern, llama3SplitPattern} {
		g, re := splitPair(t, pattern)
		r := rand.New(rand.NewPCG(1, uint64(len(pattern))))
		for range 40000 {
			s := randomGPTText(r)
			want := re.split(nil, s)
			if got := g.split(nil, s); !slices.Equal(got, want) {
				t.Fatalf("%q:\n gptSplit %q\n regexp2  %q", s, got, want)
			}
		}
	}
}

// FuzzGPTSplit is the same comparison under go test -fuzz (the seeds run in every go test).
func FuzzGPTSplit(f *testing.F) {
	for _, s := range []string{"", "I'm", "'ſ 'LL", "a  b", " \n\n x", "12345", "\u3000\u3000x",
		"$hello", " ?!\r\n", "e\u0301\u0301", "\t\tword"} {
		f.Add(s)
	}
	gq, rq := splitPair(f, qwen2SplitPattern)
	gl, rl := splitPair(f, llama3SplitPattern)
	f.Fuzz(func(t *testing.T, s string) {
		s = validUTF8(s)
		if got, want := gq.split(nil, s), rq.split(nil, s); !slices.Equal(got, want) {
			t.Errorf("qwen %q: %q vs %q", s, got, want)
		}
		if got, want := gl.split(nil, s), rl.split(nil, s); !slices.Equal(got, want) {
			t.Errorf("llama %q: %q vs %q", s, got, want)
		}
	})
}
