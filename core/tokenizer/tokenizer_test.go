package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Hand-derived encodings with the tiny tokenizer (tiny_test.go): byte tokens have id = byte
// value, merges 256..264 build "hello" (259) and "Ġworld" (264).
func TestTinyEncodeHandDerived(t *testing.T) {
	for _, pairs := range []bool{true, false} { // merges as ["a","b"] and as "a b"
		dir := t.TempDir()
		writeJSON(t, filepath.Join(dir, "tokenizer.json"), tinyFile(pairs))
		tk, err := Load(filepath.Join(dir, "tokenizer.json"))
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			text string
			ids  []int32
		}{
			{"", nil},
			// "hello": he(0) → ll(1) → hell(2) → hello(3); " world": Ġw(4) → or(5) → Ġwor(6) → ld(7) → Ġworld(8).
			{"hello world", []int32{259, 264}},
			// "worlds" has no leading space, so only or(5) and ld(7) apply.
			{"worlds", []int32{'w', 261, 263, 's'}},
			// é is C3 A9; NFC turns e + U+0301 into it first.
			{"héllo", []int32{'h', 0xC3, 0xA9, 257, 'o'}},
			{"he\u0301llo", []int32{'h', 0xC3, 0xA9, 257, 'o'}},
			// Special tokens are cut out before pre-tokenization.
			{"<|im_start|>hello<|im_end|>", []int32{266, 259, 267}},
			{"<|im_start|><|im_start|>", []int32{266, 266}},
			{"x<tool>", []int32{'x', 268}},
			// Qwen's regex: digits one by one, "  " before a word splits as " " + " word".
			{"12", []int32{'1', '2'}},
			// " hello" is Ġ h e l l o with no merge for Ġh: Ġ (byte 0x20, id 32) + hello.
			{"a  hello", []int32{'a', ' ', ' ', 259}},
			// Invalid UTF-8 becomes U+FFFD (EF BF BD), once per maximal ill-formed subpart.
			{"\xff", []int32{0xEF, 0xBF, 0xBD}},
			{"\xe2\x82!", []int32{0xEF, 0xBF, 0xBD, '!'}},
		}
		for _, c := range cases {
			got := tk.Encode(c.text, false)
			if !slices.Equal(got, c.ids) {
				t.Errorf("pairs=%v Encode(%q) = %v, want %v", pairs, c.text, got, c.ids)
			}
		}
	}
}

// TestValidUTF8MatchesPython checks the invalid-input rule against CPython 3.11's
// bytes.decode("utf-8", errors="replace") (outputs pasted from python3).
func TestValidUTF8MatchesPython(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"\xff", "\ufffd"},
		{"\xff\xfe", "\ufffd\ufffd"},
		{"\xc0\xaf", "\ufffd\ufffd"},
		{"\xe2\x82", "\ufffd"},
		{"\xe2\x82\xac", "\u20ac"},
		{"\xe2\x82a", "\ufffda"},
		{"\xf0\x9f\x98", "\ufffd"},
		{"\xf0\x9f\x98\x80", "\U0001f600"},
		{"\x80", "\ufffd"},
		{"\x80\x80", "\ufffd\ufffd"},
		{"\xed\xa0\x80", "\ufffd\ufffd\ufffd"},
		{"\xf4\x90\x80\x80", "\ufffd\ufffd\ufffd\ufffd"},
		{"\xc3", "\ufffd"},
		{"\xe0\x80\x80", "\ufffd\ufffd\ufffd"},
		{"\xe0\xa0", "\ufffd"},
		{"\xf0\x80\x80\x80", "\ufffd\ufffd\ufffd\ufffd"},
		{"\xf8\x88\x80\x80\x80", "\ufffd\ufffd\ufffd\ufffd\ufffd"},
		{"a\xc3\xa9\xc3", "a\u00e9\ufffd"},
		{"\xf1\x80\x80\xe1\x80\xc2", "\ufffd\ufffd\ufffd"},
		{"\xef\xbf\xbd", "\ufffd"},
		{"\xf4\x8f\xbf\xbf", "\U0010ffff"},
	} {
		if got := validUTF8(c.in); got != c.want {
			t.Errorf("validUTF8(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTinyAddedTokenFlags(t *testing.T) {
	dir := tinyDir(t, func(f map[string]any) {
		addTokens(f,
			map[string]any{"id": 269, "content": "[L]", "lstrip": true},
			map[string]any{"id": 270, "content": "[R]", "rstrip": true},
			map[string]any{"id": 271, "content": "ell", "single_word": true},
			// Matched on the normalized (NFC) text; the content is given decomposed.
			map[string]any{"id": 272, "content": "e\u0301!", "normalized": true},
		)
	}, nil, nil)
	tk, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		text string
		ids  []int32
	}{
		{"a [L]b", []int32{'a', 269, 'b'}},            // lstrip takes the space before
		{"a  [L]", []int32{'a', 269}},                 // ... all of it
		{"[R]  b", []int32{270, 'b'}},                 // rstrip takes the spaces after
		{"hello", []int32{259}},                       // "ell" inside a word is not single_word
		{"a ell b", []int32{'a', ' ', 271, ' ', 'b'}}, // ... between spaces it is
		{"xe\u0301!", []int32{'x', 272}},              // normalized token after NFC
		{"x\u00e9!", []int32{'x', 272}},               // composed input too
		{"[L][R]", []int32{269, 270}},
	} {
		if got := tk.Encode(c.text, false); !slices.Equal(got, c.ids) {
			t.Errorf("Encode(%q) = %v, want %v", c.text, got, c.ids)
		}
	}
}

func TestTinySplitSpecialTokens(t *testing.T) {
	tk := newTestTokenizer(t, map[string]any{"split_special_tokens": true})
	ids := tk.Encode("<|im_start|>hello<tool>", false)
	if slices.Contains(ids, 266) || !slices.Contains(ids, 268) {
		t.Errorf("split_special_tokens: %v should spell <|im_start|> as text and keep <tool> (268)", ids)
	}
	if got := tk.Decode(ids, false); got != "<|im_start|>hello<tool>" {
		t.Errorf("round trip %q", got)
	}
}

func TestTinyPostProcessors(t *testing.T) {
	tmpl := map[string]any{"type": "TemplateProcessing",
		"single": []any{
			map[string]any{"SpecialToken": map[string]any{"id": "<|endoftext|>", "type_id": 0}},
			map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
			map[string]any{"SpecialToken": map[string]any{"id": "<|im_end|>", "type_id": 0}},
		},
		"pair": []any{},
		"special_tokens": map[string]any{
			"<|endoftext|>": map[string]any{"id": "<|endoftext|>", "ids": []int{265}, "tokens": []string{"<|endoftext|>"}},
			"<|im_end|>":    map[string]any{"id": "<|im_end|>", "ids": []int{267}, "tokens": []string{"<|im_end|>"}},
		}}
	// Llama-3 style: Sequence[ByteLevel, TemplateProcessing].
	seq := map[string]any{"type": "Sequence", "processors": []any{
		map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true}, tmpl}}
	for _, c := range []struct {
		name string
		post any
		cfg  map[string]any
		want []int32
	}{
		{"template", tmpl, nil, []int32{265, 259, 267}},
		{"sequence", seq, nil, []int32{265, 259, 267}},
		{"string template", map[string]any{"type": "TemplateProcessing", "single": "<|endoftext|>:0 $A:0"}, nil, []int32{265, 259}},
		{"bytelevel", nil, nil, []int32{259}},
		// transformers 5 rebuilds the post-processor from add_bos_token/add_eos_token when the
		// config sets either, whatever the file says.
		{"add_bos_token", nil, map[string]any{"bos_token": "<|endoftext|>", "add_bos_token": true}, []int32{265, 259}},
		{"add_eos_token", tmpl, map[string]any{"eos_token": "<|im_end|>", "add_bos_token": false, "add_eos_token": true}, []int32{259, 267}},
		{"add_bos_token false", tmpl, map[string]any{"bos_token": "<|endoftext|>", "add_bos_token": false}, []int32{259}},
	} {
		dir := tinyDir(t, func(f map[string]any) {
			if c.post != nil {
				f["post_processor"] = c.post
			}
		}, c.cfg, nil)
		tk, err := Load(dir)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := tk.Encode("hello", true); !slices.Equal(got, c.want) {
			t.Errorf("%s: Encode(hello, addSpecial) = %v, want %v", c.name, got, c.want)
		}
		if got := tk.Encode("hello", false); !slices.Equal(got, []int32{259}) {
			t.Errorf("%s: Encode(hello) = %v, want [259]", c.name, got)
		}
	}
}

func TestTinySpecialIDs(t *testing.T) {
	dir := tinyDir(t, nil, map[string]any{"eos_token": "<|im_end|>", "bos_token": nil},
		map[string]any{"eos_token_id": []int{265, 267}, "bos_token_id": 265})
	tk, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.EOS(); !slices.Equal(got, []int32{267, 265}) {
		t.Errorf("EOS() = %v, want [267 265] (eos_token, then generation_config's others)", got)
	}
	if got := tk.PadID(); got != 267 {
		t.Errorf("PadID() = %d, want 267 (no pad_token: the eos_token, as TRL)", got)
	}
	if id, ok := tk.BOS(); ok {
		t.Errorf("BOS() = %d, true; want none", id)
	}
	// A tokenizer.json file path reads tokenizer_config.json beside it, not generation_config.
	tk2, err := Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := tk2.EOS(); !slices.Equal(got, []int32{267}) {
		t.Errorf("EOS() from the file path = %v, want [267]", got)
	}
	tk3 := newTestTokenizer(t, map[string]any{"pad_token": "<|endoftext|>", "bos_token": map[string]any{"content": "<|im_start|>"}})
	if got := tk3.PadID(); got != 265 {
		t.Errorf("PadID() = %d, want 265", got)
	}
	if id, ok := tk3.BOS(); !ok || id != 266 {
		t.Errorf("BOS() = %d, %v; want 266 (AddedToken-object form)", id, ok)
	}
	if tk.VocabSize() != 269 || !tk.IsSpecial(266) || tk.IsSpecial(268) || tk.IsSpecial(259) {
		t.Errorf("VocabSize %d, IsSpecial(266/268/259) = %v %v %v", tk.VocabSize(), tk.IsSpecial(266), tk.IsSpecial(268), tk.IsSpecial(259))
	}
	if id, ok := tk.TokenToID("Ġworld"); !ok || id != 264 {
		t.Errorf("TokenToID(Ġworld) = %d %v", id, ok)
	}
	if s, ok := tk.IDToToken(266); !ok || s != "<|im_start|>" {
		t.Errorf("IDToToken(266) = %q %v", s, ok)
	}
	if _, ok := tk.IDToToken(5000); ok {
		t.Error("IDToToken(5000) found")
	}
}

func TestTinyDecode(t *testing.T) {
	tk := newTestTokenizer(t, nil)
	for _, c := range []struct {
		ids  []int32
		skip bool
		want string
	}{
		{[]int32{259, 264}, false, "hello world"},
		{[]int32{266, 259, 267, 268}, false, "<|im_start|>hello<|im_end|><tool>"},
		{[]int32{266, 259, 267, 268}, true, "hello<tool>"}, // <tool> is not special
		{[]int32{0xC3}, false, "\ufffd"},                   // a character cut in half
		{[]int32{0xC3, 0xA9}, false, "\u00e9"},
		{[]int32{-1, 259, 100000}, false, "hello"}, // unknown ids are dropped
		{nil, false, ""},
	} {
		if got := tk.Decode(c.ids, c.skip); got != c.want {
			t.Errorf("Decode(%v, %v) = %q, want %q", c.ids, c.skip, got, c.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	empty := t.TempDir()
	for _, c := range []struct {
		name string
		dir  func() string
		want string
	}{
		{"no tokenizer.json", func() string { return empty }, "tokenizer.json is missing"},
		{"no such path", func() string { return filepath.Join(empty, "nope") }, "no such file"},
		{"truncated", func() string {
			d := t.TempDir()
			os.WriteFile(filepath.Join(d, "tokenizer.json"), []byte(`{"model": {"type": "BPE", "vocab": {"a": 0`), 0o644)
			return d
		}, "not a valid tokenizer.json"},
		{"merge of unknown token", func() string {
			return tinyDir(t, func(f map[string]any) {
				f["model"].(map[string]any)["merges"] = []any{[]string{"h", "ZZ"}}
			}, nil, nil)
		}, `model.merges[0]`},
		{"unsupported normalizer", func() string {
			return tinyDir(t, func(f map[string]any) { f["normalizer"] = map[string]any{"type": "Lowercase"} }, nil, nil)
		}, `normalizer type "Lowercase" is not supported`},
		{"unsupported pre-tokenizer", func() string {
			return tinyDir(t, func(f map[string]any) { f["pre_tokenizer"] = map[string]any{"type": "Metaspace"} }, nil, nil)
		}, `pre_tokenizer type "Metaspace" is not supported`},
		{"bad regex", func() string {
			return tinyDir(t, func(f map[string]any) {
				f["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "(a"}, "behavior": "Isolated"}
			}, nil, nil)
		}, "does not compile"},
		{"unsupported model", func() string {
			return tinyDir(t, func(f map[string]any) { f["model"].(map[string]any)["type"] = "WordPiece" }, nil, nil)
		}, `model.type "WordPiece" is not supported`},
		{"eos not a token", func() string {
			return tinyDir(t, nil, map[string]any{"eos_token": "</s>"}, nil)
		}, `eos_token "</s>" is not a token`},
		{"generation eos out of range", func() string {
			return tinyDir(t, nil, nil, map[string]any{"eos_token_id": 99999})
		}, "eos_token_id 99999"},
		{"bad config", func() string {
			d := tinyDir(t, nil, nil, nil)
			os.WriteFile(filepath.Join(d, "tokenizer_config.json"), []byte(`{"eos_token": 3}`), 0o644)
			return d
		}, "tokenizer_config.json"},
	} {
		_, err := Load(c.dir())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// GPT-2's tokenizer.json: no normalizer, ByteLevel pre-tokenizer with its built-in regex.
func TestTinyGPT2PreTokenizer(t *testing.T) {
	for _, c := range []struct {
		prefix bool
		text   string
		ids    []int32
	}{
		{false, "hello world", []int32{259, 264}},
		// \s+(?!\S) leaves the last space to " world".
		{false, "hello  world", []int32{259, ' ', 264}},
		{false, "hello\n\nworld", []int32{259, '\n', '\n', 'w', 261, 263}},
		// add_prefix_space: "hello" is encoded as " hello" (Ġ + hello).
		{true, "hello", []int32{' ', 259}},
		{true, " world", []int32{264}},
		// The file has no NFC: e + U+0301 stays decomposed (CC 81 is U+0301).
		{false, "e\u0301", []int32{'e', 0xCC, 0x81}},
	} {
		dir := tinyDir(t, func(f map[string]any) {
			f["normalizer"] = nil
			f["pre_tokenizer"] = map[string]any{"type": "ByteLevel", "add_prefix_space": c.prefix, "trim_offsets": true, "use_regex": true}
		}, nil, nil)
		tk, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := tk.Encode(c.text, false); !slices.Equal(got, c.ids) {
			t.Errorf("prefix=%v Encode(%q) = %v, want %v", c.prefix, c.text, got, c.ids)
		}
	}
}
