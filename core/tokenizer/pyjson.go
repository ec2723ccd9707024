package tokenizer

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/ardanlabs/jinja"
)

// toJSONFilter is transformers' chat-template tojson filter (utils/chat_template_utils.py):
// json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False), each
// keyword settable from the template. Written by hand because the output must be Python's
// byte for byte (separators ", " and ": ", no HTML escaping, float repr, key order kept),
// which encoding/json does not give.
func toJSONFilter(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Value{}, fmt.Errorf("tojson: no value")
	}
	d := pyDumper{itemSep: ", ", keySep: ": "}
	if v, ok := kwargs["ensure_ascii"]; ok {
		d.ensureASCII = v.IsTruthy()
	}
	if v, ok := kwargs["sort_keys"]; ok {
		d.sortKeys = v.IsTruthy()
	}
	if v, ok := kwargs["indent"]; ok && !v.IsNone() && !v.IsUndefined() {
		switch {
		case v.IsInt():
			d.indent = strings.Repeat(" ", int(max(v.AsInt(), 0)))
		case v.IsString():
			d.indent = v.AsString()
		default:
			return jinja.Value{}, fmt.Errorf("tojson: indent must be an int or a string")
		}
		d.indented = true
		d.itemSep = "," // Python's default separators when indent is set
	}
	if v, ok := kwargs["separators"]; ok && !v.IsNone() && !v.IsUndefined() {
		if !v.IsList() || v.AsList().Len() != 2 || !v.AsList().Get(0).IsString() ||
			!v.AsList().Get(1).IsString() {
			return jinja.Value{}, fmt.Errorf("tojson: separators must be two strings")
		}
		d.itemSep, d.keySep = v.AsList().Get(0).AsString(), v.AsList().Get(1).AsString()
	}
	var b strings.Builder
	if err := d.dump(&b, args[0], 0); err != nil {
		return jinja.Value{}, err
	}
	return jinja.NewString(b.String()), nil
}

type pyDumper struct {
	itemSep, keySep string
	indent          string
	indented        bool
	ensureASCII     bool
	sortKeys        bool
}

func (d *pyDumper) newline(b *strings.Builder, level int) {
	if d.indented {
		b.WriteByte('\n')
		for range level {
			b.WriteString(d.indent)
		}
	}
}

func (d *pyDumper) dump(b *strings.Builder, v jinja.Value, level int) error {
	switch {
	case v.IsNone() || v.IsUndefined():
		b.WriteString("null")
	case v.IsBool():
		b.WriteString(strconv.FormatBool(v.AsBool()))
	case v.IsInt():
		b.WriteString(strconv.FormatInt(v.AsInt(), 10))
	case v.IsFloat():
		b.WriteString(pyFloatRepr(v.AsFloat()))
	case v.IsString():
		d.dumpString(b, v.AsString())
	case v.IsList():
		items := v.AsList().Items
		if len(items) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				b.WriteString(d.itemSep)
			}
			d.newline(b, level+1)
			if err := d.dump(b, it, level+1); err != nil {
				return err
			}
		}
		d.newline(b, level)
		b.WriteByte(']')
	case v.IsDict():
		dict := v.AsDict()
		keys := dict.OrderedKeys()
		if len(keys) == 0 {
			b.WriteString("{}")
			return nil
		}
		if d.sortKeys {
			slices.Sort(keys)
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(d.itemSep)
			}
			d.newline(b, level+1)
			d.dumpString(b, k)
			b.WriteString(d.keySep)
			val, _ := dict.Get(k)
			if err := d.dump(b, val, level+1); err != nil {
				return err
			}
		}
		d.newline(b, level)
		b.WriteByte('}')
	default:
		return fmt.Errorf("tojson: a %s value is not JSON serializable", v.String())
	}
	return nil
}

// dumpString writes s as Python's json encoder does: ", \ and the control characters below
// U+0020 escaped (\n \r \t \b \f by name), the rest raw, or as \uXXXX (UTF-16) when
// ensure_ascii is set.
func (d *pyDumper) dumpString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (d.ensureASCII && r > 0x7e && r < 0x10000):
				fmt.Fprintf(b, `\u%04x`, r)
			case d.ensureASCII && r >= 0x10000:
				hi, lo := utf16.EncodeRune(r)
				fmt.Fprintf(b, `\u%04x\u%04x`, hi, lo)
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// pyFloatRepr is Python's repr(float): the shortest round-tripping digits, in positional
// notation when the decimal exponent is in [-4, 16) (always with a fractional part, "1.0"),
// else scientific with a signed two-digit exponent ("1e+16", "1.5e-07"); json.dumps writes
// Infinity, -Infinity and NaN for the special values.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // "-1.2345e+06"
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	sign := ""
	if strings.HasPrefix(mant, "-") {
		sign, mant = "-", mant[1:]
	}
	digits := strings.Replace(mant, ".", "", 1)
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := "+"
		if exp < 0 {
			es, exp = "-", -exp
		}
		return fmt.Sprintf("%s%se%s%02d", sign, m, es, exp)
	}
	if exp < 0 {
		return sign + "0." + strings.Repeat("0", -exp-1) + digits
	}
	if len(digits) <= exp+1 {
		return sign + digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	}
	return sign + digits[:exp+1] + "." + digits[exp+1:]
}
