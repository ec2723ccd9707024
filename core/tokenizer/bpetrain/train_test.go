package bpetrain

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/grpo-dev/grpo/core/template"
	"github.com/grpo-dev/grpo/core/tokenizer"
)

// TestMergesByHand checks the merge order on the word counts of Hugging Face's BPE course
// example (hug×10, pug×5, pun×12, bun×4, hugs×5), derived by hand: the pair counts are
// ug 20, un 16, pu 17, hu 15, gs 5, bu 4, so "u g" merges first; then un 16 beats pu 12 and
// hug 15; then "h ug" (15) beats "p un" (12).
func TestMergesByHand(t *testing.T) {
	var texts []string
	for w, n := range map[string]int{"hug": 10, "pug": 5, "pun": 12, "bun": 4, "hugs": 5} {
		for range n {
			texts = append(texts, w)
		}
	}
	tok, err := Train(texts, Config{VocabSize: 256 + 3, MinFrequency: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{{"u", "g"}, {"u", "n"}, {"h", "ug"}}
	if !slices.Equal(tok.Merges, want) {
		t.Fatalf("merges %v, want %v", tok.Merges, want)
	}
	if got := tok.Vocab[256:]; !slices.Equal(got, []string{"ug", "un", "hug"}) {
		t.Fatalf("new symbols %v", got)
	}
}

// TestMinFrequencyStops: a pair seen once is never merged with the default min_frequency.
func TestMinFrequencyStops(t *testing.T) {
	tok, err := Train([]string{"ab", "cd", "cd"}, Config{VocabSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tok.Merges, [][2]string{{"c", "d"}}) {
		t.Fatalf("merges %v, want only c d", tok.Merges)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := Train(nil, Config{VocabSize: 100}); err == nil || !strings.Contains(err.Error(), "256 byte symbols") {
		t.Fatalf("small vocabulary: %v", err)
	}
	if _, err := Train(nil, Config{VocabSize: 300, SpecialTokens: []string{"<a>", "<a>"}}); err == nil {
		t.Fatal("repeated special token accepted")
	}
	if _, err := Train(nil, Config{VocabSize: 300, Pattern: "("}); err == nil {
		t.Fatal("bad pattern accepted")
	}
}

// corpus is arithmetic chat text like the demo's.
func corpus() []string {
	var out []string
	for i := range 200 {
		a, b := 7*i%97, 13*i%89
		q := fmt.Sprintf("Tom has %d apples. He gets %d more. How many apples does Tom have now?", a, b)
		s := fmt.Sprintf("%d + %d = %d. The answer is \\boxed{%d}.", a, b, a+b, a+b)
		out = append(out, ChatMLText(q, s))
	}
	return out
}

// TestWrittenTokenizerLoads trains on chat text, writes the directory and loads it through
// core/tokenizer: special tokens and ids, the chat template, digits one per token, words of the
// corpus as one token each, and exact round trips on text the corpus never had.
func TestWrittenTokenizerLoads(t *testing.T) {
	tr, err := Train(corpus(), Config{VocabSize: 1000, SpecialTokens: ChatMLTokens})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := tr.WriteDir(dir, WriteOptions{EOSToken: "<|im_end|>", PadToken: "<|endoftext|>", ChatTemplate: ChatMLTemplate, ModelMaxLength: 256}); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := len(tr.Vocab)
	if tok.VocabSize() != n+3 {
		t.Fatalf("vocab size %d, want %d", tok.VocabSize(), n+3)
	}
	for i, s := range ChatMLTokens {
		if id, ok := tok.TokenToID(s); !ok || id != int32(n+i) || !tok.IsSpecial(id) {
			t.Fatalf("special token %s: id %d %v, want %d special", s, id, ok, n+i)
		}
	}
	if eos := tok.EOS(); len(eos) == 0 || eos[0] != int32(n+2) {
		t.Fatalf("EOS %v, want <|im_end|> = %d", eos, n+2)
	}
	if tok.PadID() != int32(n) {
		t.Fatalf("pad %d, want <|endoftext|> = %d", tok.PadID(), n)
	}
	rendered, err := tok.ApplyChatTemplate([]template.Message{{Role: "user", Content: "Q?"}, {Role: "assistant", Content: "A."}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if rendered != ChatMLText("Q?", "A.") {
		t.Fatalf("chat template renders %q, ChatMLText gives %q", rendered, ChatMLText("Q?", "A."))
	}
	prompt, err := tok.ApplyChatTemplate([]template.Message{{Role: "user", Content: "Q?"}}, true)
	if err != nil || prompt != "<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n" {
		t.Fatalf("generation prompt %q, %v", prompt, err)
	}
	if ids := tok.Encode("90817", false); len(ids) != 5 {
		t.Fatalf("digits: %v, want one token per digit", ids)
	}
	for _, w := range []string{" apples", " answer", "Tom", "boxed", "<|im_start|>", "user"} {
		if ids := tok.Encode(w, false); len(ids) != 1 {
			t.Fatalf("%q encodes to %v, want a single token", w, ids)
		}
	}
	for _, s := range []string{"Zoë bought 12 pears for €3.50.\n\tDone!", "<|im_start|>user\nhi<|im_end|>", "", "   spaces  "} {
		ids := tok.Encode(s, false)
		if got := tok.Decode(ids, false); got != s {
			t.Fatalf("round trip of %q gives %q (ids %v)", s, got, ids)
		}
	}
}
