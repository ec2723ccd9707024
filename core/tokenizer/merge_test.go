package tokenizer

import (
	"math/rand/v2"
	"slices"
	"testing"
	"unicode/utf8"
)

// TestMergeScanEqualsHeap checks that the two merge loops (linear scan for short words, HF's
// priority queue for long ones) agree, on random words over the real Qwen3 merges, including
// repetitive words where many equal-rank pairs overlap ("aaaa...", "    ...").
func TestMergeScanEqualsHeap(t *testing.T) {
	tk := realTokenizer(t, "qwen3")
	r := rand.New(rand.NewPCG(7, 11))
	alphabet := []string{"a", "e", "t", "h", " ", "n", "in", "the", "ing", "0", "ab", "\n", "你", "好", "é"}
	for i := range 3000 {
		var w string
		switch i % 3 {
		case 0: // repeats of one unit
			u := alphabet[r.IntN(len(alphabet))]
			for range 1 + r.IntN(60) {
				w += u
			}
		default:
			for range 1 + r.IntN(40) {
				w += alphabet[r.IntN(len(alphabet))]
			}
		}
		syms := tk.bpe.symbols(w)
		if len(syms) > heapThreshold {
			syms = syms[:heapThreshold] // keep within the scan's buffer
		}
		a := tk.bpe.mergeScan(slices.Clone(syms))
		b := tk.bpe.mergeHeap(slices.Clone(syms))
		if !slices.Equal(a, b) {
			t.Fatalf("word %q: scan %v, heap %v", w, a, b)
		}
	}
}

// TestLongInputs encodes inputs long enough to take the heap path and to make the
// `\s+(?!\S)` alternative backtrack far, and checks the round trip.
func TestLongInputs(t *testing.T) {
	tk := realTokenizer(t, "qwen3")
	for _, s := range []string{
		string(make([]byte, 0)),
		repeat("a", 5000), repeat(" ", 100000) + "x", repeat("\n", 5000), repeat("你", 3000),
		repeat("ab", 2000) + " " + repeat("9", 1000),
	} {
		ids := tk.Encode(s, false)
		if got := tk.Decode(ids, false); got != s {
			t.Errorf("round trip of a %d-byte input differs", len(s))
		}
		if len(s) > 0 && len(ids) == 0 {
			t.Errorf("no ids for a %d-byte input", len(s))
		}
	}
}

func repeat(s string, n int) string {
	b := make([]byte, 0, len(s)*n)
	for range n {
		b = append(b, s...)
	}
	return string(b)
}

// TestRoundTrip checks Decode(Encode(s)) == s after the documented input rules (invalid UTF-8
// replaced, NFC for Qwen) on random strings of random code points and bytes.
func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"qwen3", "llama3"} {
		tk := realTokenizer(t, name)
		r := rand.New(rand.NewPCG(3, 5))
		for i := range 2000 {
			var b []byte
			for range 1 + r.IntN(30) {
				switch r.IntN(4) {
				case 0:
					b = append(b, byte(r.IntN(256)))
				case 1:
					b = utf8.AppendRune(b, rune(r.IntN(0x3000)))
				case 2:
					b = utf8.AppendRune(b, rune(0x1F300+r.IntN(0x300)))
				default:
					b = append(b, " \n\t'sLLa1<|im_end|>"[r.IntN(18):]...)
				}
			}
			s := validUTF8(string(b))
			if tk.normalize != nil {
				s = tk.normalize(s)
			}
			if got := tk.Decode(tk.Encode(string(b), false), false); got != s {
				t.Fatalf("%s string %d %q: decoded %q", name, i, b, got)
			}
		}
	}
}

// TestConcurrentEncode encodes from several goroutines (the word cache is shared).
func TestConcurrentEncode(t *testing.T) {
	tk := realTokenizer(t, "qwen3")
	texts := []string{"Hello, my dog is cute", "a    b", "你好，世界！", "<|im_start|>user\nhi<|im_end|>"}
	want := make([][]int32, len(texts))
	for i, s := range texts {
		want[i] = tk.Encode(s, false)
	}
	done := make(chan string, 8)
	for g := range 8 {
		go func() {
			for i := range 500 {
				k := (i + g) % len(texts)
				if got := tk.Encode(texts[k], false); !slices.Equal(got, want[k]) {
					done <- texts[k]
					return
				}
			}
			done <- ""
		}()
	}
	for range 8 {
		if s := <-done; s != "" {
			t.Errorf("concurrent Encode(%q) differs", s)
		}
	}
}
