package bpetrain

// byteChars is GPT-2's bytes_to_unicode table (openai/gpt-2 encoder.py, HF tokenizers
// pre_tokenizers/byte_level.rs): every byte gets a printable rune, so that byte-level BPE
// vocabularies are plain strings. Printable Latin-1 bytes map to themselves; the other 68 bytes
// map to U+0100 onwards in byte order. Written here (a dozen lines) because core/tokenizer keeps
// its copy unexported and the trainer must produce exactly these spellings.
var byteChars = func() [256]rune {
	var t [256]rune
	printable := func(b int) bool {
		return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	next := rune(256)
	for b := range 256 {
		if printable(b) {
			t[b] = rune(b)
		} else {
			t[b] = next
			next++
		}
	}
	return t
}()

// byteLevel spells s in byte-level form: one rune per byte.
func byteLevel(s string) []string {
	out := make([]string, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = string(byteChars[s[i]])
	}
	return out
}
