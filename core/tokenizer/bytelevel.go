package tokenizer

import "unicode/utf8"

// byteLevel is GPT-2's reversible byte↔unicode table, used by the ByteLevel pre-tokenizer and
// decoder of tokenizer.json (HF tokenizers pre_tokenizers/byte_level.rs bytes_char): the
// printable bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF map to the rune of the same value; the
// other 68 bytes map, in increasing byte order, to U+0100, U+0101, ... Every vocabulary entry of
// a byte-level BPE is a string over these 256 runes.
type byteLevel struct {
	toRune [256]rune
	// toRuneStr caches the UTF-8 encoding of each mapped rune, so mapping a piece is appends only.
	toRuneStr [256]string
	// fromRune maps a table rune (all are below 324) back to its byte; -1 for other runes.
	fromRune [324]int16
}

var bytesChar = newByteLevel()

func newByteLevel() *byteLevel {
	b := &byteLevel{}
	for i := range b.fromRune {
		b.fromRune[i] = -1
	}
	printable := func(c int) bool {
		return (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF)
	}
	n := 0
	for c := 0; c < 256; c++ {
		r := rune(c)
		if !printable(c) {
			r = rune(256 + n)
			n++
		}
		b.toRune[c] = r
		b.toRuneStr[c] = string(r)
		b.fromRune[r] = int16(c)
	}
	return b
}

// encode maps every byte of s to its rune and returns the result (a vocabulary-space string).
func (b *byteLevel) encode(s string) string {
	buf := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		buf = append(buf, b.toRuneStr[s[i]]...)
	}
	return string(buf)
}

// decodeToken appends the bytes a vocabulary-space token stands for. As HF's ByteLevel decoder
// does, a token holding any rune outside the table (an added token such as "<|im_end|>" never
// does, but a user-added " foo" would) contributes its own UTF-8 bytes unchanged.
func (b *byteLevel) decodeToken(dst []byte, tok string) []byte {
	start := len(dst)
	for _, r := range tok {
		if r >= rune(len(b.fromRune)) || b.fromRune[r] < 0 {
			return append(dst[:start], tok...)
		}
		dst = append(dst, byte(b.fromRune[r]))
	}
	return dst
}

// validUTF8 returns s when it is valid UTF-8, and otherwise the string Python's
// bytes.decode("utf-8", errors="replace") gives (Rust's String::from_utf8_lossy is identical):
// each maximal subpart of an ill-formed sequence becomes one U+FFFD. This differs from Go's
// strings.ToValidUTF8 (one U+FFFD per run of bad bytes) and from ranging over the string (one
// per byte): "\xe2\x82" is a single truncated sequence and gives one U+FFFD, while "\xff\xfe"
// gives two. Encode applies it to its input because HF tokenizers only accept valid strings;
// Decode applies it to the byte stream the tokens spell, as HF's ByteLevel decoder does.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string(lossyUTF8(nil, []byte(s)))
}

// lossyUTF8 appends the lossy decoding of p to dst (see validUTF8).
func lossyUTF8(dst, p []byte) []byte {
	const replacement = "\uFFFD"
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		// Expected length and the allowed range of the second byte (Unicode Table 3-7,
		// "Well-Formed UTF-8 Byte Sequences").
		var need int
		lo, hi := byte(0x80), byte(0xBF)
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need = 2
		case c == 0xE0:
			need, lo = 3, 0xA0
		case c == 0xED:
			need, hi = 3, 0x9F
		case c >= 0xE1 && c <= 0xEF:
			need = 3
		case c == 0xF0:
			need, lo = 4, 0x90
		case c == 0xF4:
			need, hi = 4, 0x8F
		case c >= 0xF1 && c <= 0xF3:
			need = 4
		default: // 0x80..0xC1, 0xF5..0xFF can never start a sequence
			dst = append(dst, replacement...)
			i++
			continue
		}
		// Count the bytes of the maximal valid prefix of this sequence.
		n := 1
		for n < need && i+n < len(p) {
			b := p[i+n]
			if n == 1 {
				if b < lo || b > hi {
					break
				}
			} else if b < 0x80 || b > 0xBF {
				break
			}
			n++
		}
		if n == need {
			dst = append(dst, p[i:i+n]...)
		} else {
			dst = append(dst, replacement...)
		}
		i += n
	}
	return dst
}
