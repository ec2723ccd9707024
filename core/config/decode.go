package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// document is one parsed TOML source (a file, or one command-line override) whose top-level
// keys are decoded one at a time, so that each problem can name its key and line.
//
// BurntSushi/toml v1.6.0 offers: ParseError with a Position (line, column, byte span) for
// syntax errors; MetaData.Keys (every key, in document order), MetaData.Type (the TOML type of a
// key) and Primitive/PrimitiveDecode (decode one key later, into a type chosen then). It keeps
// the position of every key private, but reports it in the ParseError that wraps an error
// returned by a toml.Unmarshaler; locate uses that to find any key's line.
type document struct {
	name  string // file path as given, or "command line"
	text  string
	md    toml.MetaData
	prims map[string]toml.Primitive
	cli   bool // a command-line override: problems say "command line", not a line number
}

// parseDocument parses text; a syntax error comes back as a Problem with line and column.
func parseDocument(name, text string, cli bool) (*document, *Problem) {
	d := &document{name: name, text: text, cli: cli}
	md, err := toml.Decode(text, &d.prims)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			where := fmt.Sprintf("%s:%d:%d", name, pe.Position.Line, pe.Position.Col)
			if cli {
				where = name
			}
			return nil, &Problem{Where: where, Msg: "TOML syntax error: " + pe.Message}
		}
		return nil, &Problem{Where: name, Msg: "reading TOML: " + err.Error()}
	}
	d.md = md
	return d, nil
}

// topKeys returns the document's top-level keys in order of first appearance.
func (d *document) topKeys() []string {
	var keys []string
	seen := map[string]bool{}
	for _, k := range d.md.Keys() {
		if !seen[k[0]] {
			seen[k[0]] = true
			keys = append(keys, k[0])
		}
	}
	return keys
}

// where returns "file:line" of key (a top-level key, or a dotted path), or the document name.
func (d *document) where(key ...string) string {
	if d.cli {
		return d.name
	}
	if line := d.line(key); line > 0 {
		return fmt.Sprintf("%s:%d", d.name, line)
	}
	return d.name
}

// line finds the line of key: its own position, else that of the first key under it (a table
// made only by dotted keys, `a.b = 1`, has no position of its own).
func (d *document) line(key toml.Key) int {
	if p, ok := d.locate(key); ok && p.Line > 0 {
		return p.Line
	}
	for _, k := range d.md.Keys() {
		if len(k) > len(key) && equalKeys(k[:len(key)], key) {
			if p, ok := d.locate(k); ok && p.Line > 0 {
				return p.Line
			}
		}
	}
	return 0
}

// value returns the source text of a scalar key's value, for error messages.
func (d *document) value(key string) string {
	p, ok := d.locate(toml.Key{key})
	if !ok || p.Len <= 0 || p.Start+p.Len > len(d.text) {
		return ""
	}
	return d.text[p.Start : p.Start+p.Len]
}

// probe is a toml.Unmarshaler that always fails, so that the decoder reports its position.
type probe struct{}

var errProbe = errors.New("grpo config: key position probe")

func (*probe) UnmarshalTOML(any) error { return errProbe }

// locate decodes the document into a struct that has only a probe at key, and reads the
// probe's position from the ParseError the decoder builds around errProbe.
func (d *document) locate(key toml.Key) (toml.Position, bool) {
	t := reflect.TypeOf(probe{})
	for i := len(key) - 1; i >= 0; i-- {
		if strings.ContainsAny(key[i], "\",`\\") {
			return toml.Position{}, false // not expressible as a struct tag
		}
		fields := []reflect.StructField{{Name: "F", Type: t, Tag: reflect.StructTag(fmt.Sprintf(`toml:"%s"`, key[i]))}}
		// The decoder matches field names case-insensitively when no name is equal; a field for
		// each sibling that differs only in case keeps it from landing on the probe.
		for j, sib := range d.siblings(key[:i]) {
			if sib != key[i] && strings.EqualFold(sib, key[i]) && !strings.ContainsAny(sib, "\",`\\") {
				fields = append(fields, reflect.StructField{Name: fmt.Sprintf("D%d", j), Type: anyType,
					Tag: reflect.StructTag(fmt.Sprintf(`toml:"%s"`, sib))})
			}
		}
		t = reflect.StructOf(fields)
		if i > 0 {
			if typ := d.md.Type(key[:i]...); typ == "Array" || typ == "ArrayHash" {
				t = reflect.SliceOf(t)
			}
		}
	}
	_, err := toml.Decode(d.text, reflect.New(t).Interface())
	var pe toml.ParseError
	// ParseError does not unwrap to the Unmarshaler's error; its Message is that error's text.
	if errors.As(err, &pe) && pe.Message == errProbe.Error() {
		return pe.Position, true
	}
	return toml.Position{}, false
}

// siblings lists the keys directly under prefix.
func (d *document) siblings(prefix toml.Key) []string {
	var out []string
	for _, k := range d.md.Keys() {
		if len(k) == len(prefix)+1 && equalKeys(k[:len(prefix)], prefix) {
			out = append(out, k[len(prefix)])
		}
	}
	return out
}

func equalKeys(a, b toml.Key) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var (
	stringsType  = reflect.TypeOf([]string(nil))
	floatsType   = reflect.TypeOf([]float64(nil))
	pluginType   = reflect.TypeOf(PluginSpec{})
	pluginsType  = reflect.TypeOf([]PluginSpec(nil))
	freeFormType = reflect.TypeOf(map[string]any(nil))
)

// decodeField decodes top-level key name of d into its field of c. Tables (maps) merge key by
// key into the current value, as Hydra merges dicts across config layers; a PluginSpec merges
// unless it names another plugin; everything else is replaced.
func decodeField(c *Config, f *field, d *document, name string) *Problem {
	dst := reflect.ValueOf(c).Elem().Field(f.index)
	prim := d.prims[name]
	tomlType := d.md.Type(name)
	if tomlType == "" && hasSubKeys(d, name) {
		tomlType = "Hash" // a table made only by dotted keys
	}

	// Conveniences a Python/Hydra user expects: a single value where a list is expected, and
	// resume_from_checkpoint = true meaning the latest checkpoint (transformers semantics).
	switch {
	case f.typ == stringsType && tomlType == "String":
		var s string
		if err := d.md.PrimitiveDecode(prim, &s); err == nil {
			dst.Set(reflect.ValueOf([]string{s}))
			return nil
		}
	case f.typ == floatsType && (tomlType == "Integer" || tomlType == "Float"):
		var x float64
		if err := d.md.PrimitiveDecode(prim, &x); err == nil {
			dst.Set(reflect.ValueOf([]float64{x}))
			return nil
		}
	case f.key == "resume_from_checkpoint" && tomlType == "Bool":
		var b bool
		if err := d.md.PrimitiveDecode(prim, &b); err == nil {
			c.ResumeFromCheckpoint = nil
			if b {
				c.ResumeFromCheckpoint = ptr("latest")
			}
			return nil
		}
	}

	if !acceptsTOMLType(f.typ, tomlType) {
		// Checked here because the decoder lets some mismatches pass: a non-table value for a
		// map leaves the map untouched without an error (BurntSushi/toml v1.6.0 unifyMap).
		return &Problem{Where: d.where(name), Key: name, Msg: typeMessage(f, d, name, tomlType)}
	}
	if p := checkPluginTables(f, d, name); p != nil {
		return p
	}
	nv := reflect.New(f.typ)
	merge := f.typ.Kind() == reflect.Map
	if f.typ == pluginType {
		old := dst.Interface().(PluginSpec)
		var named struct {
			Plugin *string `toml:"plugin"`
		}
		_ = d.md.PrimitiveDecode(prim, &named) // type errors are reported by the decode below
		merge = named.Plugin == nil || *named.Plugin == old.Plugin
	}
	if merge {
		nv.Elem().Set(reflect.ValueOf(cloneValue(dst.Interface())))
	}
	if err := d.md.PrimitiveDecode(prim, nv.Interface()); err != nil {
		// The value has the right shape; something inside it does not fit.
		inner, msg := nestedError(err)
		where := d.where(name)
		if inner != "" && inner != name {
			where = d.where(strings.Split(inner, ".")...)
			msg = inner + ": " + msg
		}
		return &Problem{Where: where, Key: name, Msg: fmt.Sprintf("%s: %s (%s expects %s)",
			name, msg, name, describeGoType(f.typ))}
	}
	dst.Set(nv.Elem())
	return nil
}

func hasSubKeys(d *document, name string) bool {
	for _, k := range d.md.Keys() {
		if len(k) > 1 && k[0] == name {
			return true
		}
	}
	return false
}

// checkPluginTables checks the [[rewards]] or [template] tables of d before decoding: only the
// keys plugin (a string) and settings (a table). The decoder would ignore other keys, match
// them case-insensitively, or leave settings empty without an error when it is not a table.
func checkPluginTables(f *field, d *document, name string) *Problem {
	if f.typ != pluginType && f.typ != pluginsType {
		return nil
	}
	known := []string{"plugin", "settings"}
	for _, k := range d.md.Keys() {
		if len(k) < 2 || k[0] != name || k[1] == "plugin" || k[1] == "settings" {
			continue
		}
		return &Problem{Where: d.where(k...), Key: name, Msg: fmt.Sprintf(
			"unknown key `%s.%s`%s; a plugin table holds only plugin = \"...\" and settings = {...}",
			name, k[1], didYouMean(k[1], known))}
	}
	type rawPlugin struct {
		Plugin   any `toml:"plugin"`
		Settings any `toml:"settings"`
	}
	var raws []rawPlugin
	if f.typ == pluginType {
		raws = make([]rawPlugin, 1)
		if err := d.md.PrimitiveDecode(d.prims[name], &raws[0]); err != nil {
			return nil // reported by the decode proper
		}
	} else if err := d.md.PrimitiveDecode(d.prims[name], &raws); err != nil {
		return nil
	}
	for i, r := range raws {
		what := name
		if f.typ == pluginsType {
			what = fmt.Sprintf("%s #%d", name, i+1)
		}
		if _, ok := r.Plugin.(string); r.Plugin != nil && !ok {
			return &Problem{Where: d.where(name, "plugin"), Key: name, Msg: fmt.Sprintf(
				"%s: plugin must be a string (a .wasm path, an executable path or \"builtin:NAME\"), got %s",
				what, describeGoValue(r.Plugin))}
		}
		if _, ok := r.Settings.(map[string]any); r.Settings != nil && !ok {
			return &Problem{Where: d.where(name, "settings"), Key: name, Msg: fmt.Sprintf(
				"%s: settings must be a table (settings = {key = value, ...}), got %s",
				what, describeGoValue(r.Settings))}
		}
	}
	return nil
}

// describeGoValue names the TOML type of a decoded value.
func describeGoValue(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return "a date/time"
}

// acceptsTOMLType reports whether a value of TOML type tomlType can fill a field of type t, at
// the top level (nested mismatches are found by the decoder).
func acceptsTOMLType(t reflect.Type, tomlType string) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == pluginsType:
		return tomlType == "ArrayHash" || tomlType == "Array"
	case t.Kind() == reflect.Map || t.Kind() == reflect.Struct:
		return tomlType == "Hash"
	case t.Kind() == reflect.Slice:
		return tomlType == "Array"
	case t.Kind() == reflect.String:
		return tomlType == "String"
	case t.Kind() == reflect.Bool:
		return tomlType == "Bool"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return tomlType == "Integer"
	case t.Kind() == reflect.Float64:
		return tomlType == "Integer" || tomlType == "Float"
	}
	return false
}

// typeMessage explains a value of the wrong type: what the key expects and what the file gave.
func typeMessage(f *field, d *document, name, tomlType string) string {
	got := describeTOMLType(tomlType)
	switch tomlType {
	case "String", "Integer", "Float", "Bool", "Datetime":
		if v := d.value(name); v != "" {
			if len(v) > 60 {
				v = v[:57] + "..."
			}
			if tomlType == "String" {
				v = quoteBasic(v)
			}
			got += " (" + v + ")"
		}
	}
	return fmt.Sprintf("%s: expected %s, got %s", name, describeGoType(f.typ), got)
}

func describeTOMLType(t string) string {
	switch t {
	case "String":
		return "a string"
	case "Integer":
		return "an integer"
	case "Float":
		return "a float"
	case "Bool":
		return "a boolean"
	case "Datetime":
		return "a date/time"
	case "Array":
		return "an array"
	case "Hash":
		return "a table"
	case "ArrayHash":
		return "an array of tables"
	}
	return "a value of another type"
}

// describeGoType names what a field accepts, in TOML terms.
func describeGoType(t reflect.Type) string {
	switch t {
	case stringsType:
		return "a string or an array of strings"
	case floatsType:
		return "a number or an array of numbers"
	case pluginType:
		return `a table {plugin = "...", settings = {...}}`
	case pluginsType:
		return `an array of tables ([[rewards]] with plugin = "..." and optional settings = {...})`
	case freeFormType:
		return "a table"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return describeGoType(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	}
	return t.String()
}

// decoderPrefix is how BurntSushi/toml starts a decoding error: "toml: line 5 (last key "x"): ".
var decoderPrefix = regexp.MustCompile(`^toml: (?:line \d+ )?(?:\(last key "([^"]*)"\): )?`)

// nestedError splits the decoder's error into the dotted key it was decoding and what is
// wrong there (the line goes into the problem's place).
func nestedError(err error) (key, msg string) {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return pe.LastKey, pe.Message
	}
	msg = err.Error()
	if m := decoderPrefix.FindStringSubmatch(msg); m != nil {
		return m[1], strings.TrimPrefix(msg, m[0])
	}
	return "", msg
}
