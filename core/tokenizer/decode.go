package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
)

// decoder turns token strings back into text (HF tokenizers decoders). grpo implements the
// ByteLevel decoder of byte-level BPE files; a file without decoder joins tokens with spaces,
// as HF does.
type decoder struct {
	byteLevel bool
}

func buildDecoder(raw json.RawMessage) (*decoder, error) {
	d := &decoder{}
	if isNull(raw) {
		return d, nil
	}
	return d, d.add(raw, "decoder")
}

func (d *decoder) add(raw json.RawMessage, key string) error {
	var c componentJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	switch c.Type {
	case "ByteLevel":
		if d.byteLevel {
			return fmt.Errorf("%s: a second ByteLevel decoder is not supported", key)
		}
		d.byteLevel = true
		return nil
	case "Sequence":
		if len(c.Decoders) != 1 {
			return fmt.Errorf("%s: a Sequence of %d decoders is not supported (grpo decodes "+
				"with one ByteLevel decoder)", key, len(c.Decoders))
		}
		return d.add(c.Decoders[0], key+".decoders[0]")
	}
	return fmt.Errorf("%s type %q is not supported (grpo reads byte-level BPE tokenizers: "+
		"ByteLevel or null)", key, c.Type)
}

// decode joins the tokens. ByteLevel maps each token's runes back to bytes and reads the
// whole byte string as UTF-8, replacing ill-formed parts as Rust's from_utf8_lossy does.
func (d *decoder) decode(tokens []string) string {
	if !d.byteLevel {
		return strings.Join(tokens, " ")
	}
	buf := make([]byte, 0, 4*len(tokens))
	for _, t := range tokens {
		buf = bytesChar.decodeToken(buf, t)
	}
	return validUTF8(string(buf))
}
