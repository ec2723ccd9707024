package config

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file writes single TOML values. It is hand-written because BurntSushi/toml's encoder
// writes whole documents and turns every map into a [table] section, while `config print`
// needs `key = value` lines in a chosen order, with comments, and tables inline (so a key can
// stay in its section). Output is checked by decoding it back (tests and FuzzOverride).

// formatValue returns v as a TOML value.
func formatValue(v any) (string, error) {
	var b strings.Builder
	if err := writeValue(&b, reflect.ValueOf(v)); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeValue(b *strings.Builder, v reflect.Value) error {
	if !v.IsValid() {
		return fmt.Errorf("TOML has no null value")
	}
	if t, ok := v.Interface().(time.Time); ok {
		b.WriteString(formatTime(t))
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return fmt.Errorf("TOML has no null value")
		}
		return writeValue(b, v.Elem())
	case reflect.String:
		b.WriteString(formatString(v.String()))
	case reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		b.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		b.WriteString(formatFloat(v.Float()))
	case reflect.Slice, reflect.Array:
		b.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeValue(b, v.Index(i)); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("TOML tables need string keys, not %s", v.Type().Key())
		}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		return writeInlineTable(b, len(keys), func(i int) (string, reflect.Value) {
			return keys[i], v.MapIndex(reflect.ValueOf(keys[i]).Convert(v.Type().Key()))
		})
	case reflect.Struct:
		if p, ok := v.Interface().(PluginSpec); ok {
			n := 1
			if p.Settings != nil {
				n = 2
			}
			return writeInlineTable(b, n, func(i int) (string, reflect.Value) {
				if i == 0 {
					return "plugin", reflect.ValueOf(p.Plugin)
				}
				return "settings", reflect.ValueOf(p.Settings)
			})
		}
		return fmt.Errorf("cannot write %s as TOML", v.Type())
	default:
		return fmt.Errorf("cannot write %s as TOML", v.Type())
	}
	return nil
}

// writeInlineTable writes {k = v, ...}, leaving out null entries.
func writeInlineTable(b *strings.Builder, n int, entry func(int) (string, reflect.Value)) error {
	b.WriteByte('{')
	first := true
	for i := 0; i < n; i++ {
		k, v := entry(i)
		if isNull(v) {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(formatKey(k))
		b.WriteString(" = ")
		if err := writeValue(b, v); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return nil
}

func isNull(v reflect.Value) bool {
	if !v.IsValid() {
		return true
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
		return v.IsNil()
	}
	return false
}

// formatKey writes a key bare when TOML allows it, else as a quoted string.
func formatKey(k string) string {
	if k == "" {
		return `""`
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return quoteBasic(k)
		}
	}
	return k
}

// formatFloat writes f so that TOML reads it back as a float (it needs a '.' or an exponent).
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// formatString writes a multi-line text as a multi-line literal string (between triple single
// quotes) when that is exact, so templates stay readable, and anything else as a basic
// "quoted" string.
func formatString(s string) string {
	if strings.Contains(s, "\n") && literalOK(s) {
		return "'''\n" + s + "'''"
	}
	return quoteBasic(s)
}

// literalOK reports whether s can be a multi-line literal string: valid UTF-8, no run of three
// single quotes inside, not ending in a single quote (it would run into the closing
// delimiter), and no control characters other than tab and newline.
func literalOK(s string) bool {
	if !utf8.ValidString(s) || strings.Contains(s, "'''") || strings.HasSuffix(s, "'") {
		return false
	}
	for _, r := range s {
		if r != '\n' && r != '\t' && (r < 0x20 || r == 0x7f) {
			return false
		}
	}
	return true
}

// quoteBasic writes s as a TOML basic string. (Go's strconv.Quote is not TOML: it writes \x..,
// \a and \v escapes that TOML lacks.) Invalid UTF-8 bytes become U+FFFD.
func quoteBasic(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// formatTime writes a TOML date/time, keeping BurntSushi's local date/time kinds.
func formatTime(t time.Time) string {
	switch t.Location().String() {
	case "datetime-local":
		return t.Format("2006-01-02T15:04:05.999999999")
	case "date-local":
		return t.Format("2006-01-02")
	case "time-local":
		return t.Format("15:04:05.999999999")
	}
	return t.Format(time.RFC3339Nano)
}
