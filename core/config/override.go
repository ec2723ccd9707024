package config

import (
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// override is one command-line assignment key=value, Hydra style.
//
// The value has TOML value syntax (temperature=0.8, reward_weights=[1.0,0.5],
// model_init_kwargs={torch_dtype="bfloat16"}). Where a key takes a string, a value that is not
// a quoted TOML string is taken literally (model_name_or_path=Qwen/Qwen2.5-7B); where it takes a
// list of strings, a bare word is a one-element list (report_to=tensorboard) and [a,b] a list.
// "null" unsets a key whose default is None. The key may be dotted to reach into a table
// (model_init_kwargs.torch_dtype=bfloat16, template.plugin=builtin:chat).
type override struct {
	text  string   // as given
	path  []string // the key, split at dots
	null  bool     // "null": unset
	value any      // the parsed value, when not null
}

// anyType stands for a free-form table entry, which takes any TOML value.
var anyType = reflect.TypeOf((*any)(nil)).Elem()

// parseOverride parses "key=value" and checks the key exists.
func parseOverride(s string) (override, *Problem) {
	o := override{text: s}
	fail := func(format string, args ...any) (override, *Problem) {
		return o, &Problem{Where: cliWhere(s), Msg: fmt.Sprintf(format, args...)}
	}
	key, raw, ok := strings.Cut(s, "=")
	if !ok {
		return fail("expected key=value (e.g. temperature=0.8); a run file must come first and end in .toml")
	}
	key, raw = strings.TrimSpace(key), strings.TrimSpace(raw)
	if key == "" {
		return fail("missing key before '='")
	}
	o.path = strings.Split(key, ".")
	for _, seg := range o.path {
		if seg == "" || formatKey(seg) != seg {
			return fail("key %q: use letters, digits, '_' and '-', with '.' between table levels", key)
		}
	}
	t, p := targetType(o.path)
	if p != nil {
		p.Where = cliWhere(s)
		return o, p
	}
	if raw == "null" {
		o.null = true
		return o, nil
	}
	parsed, perr := parseTOMLValue(raw)
	switch {
	case t.Kind() == reflect.String || t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.String:
		if str, isStr := parsed.(string); perr == nil && isStr {
			o.value = str
		} else if b, isBool := parsed.(bool); perr == nil && isBool && o.path[0] == "resume_from_checkpoint" {
			o.value = b // true means the latest checkpoint
		} else {
			o.value = raw
		}
	case t == stringsType && perr != nil:
		o.value = bareList(raw)
	case t == anyType && perr != nil:
		o.value = raw
	case perr != nil:
		return fail("%s: %q is not a TOML value; %s expects %s (e.g. %s)",
			key, raw, key, describeGoType(t), example(t))
	default:
		o.value = parsed
	}
	if str, isStr := o.value.(string); isStr && !utf8.ValidString(str) {
		return fail("%s: the value is not valid UTF-8", key)
	}
	return o, nil
}

func cliWhere(s string) string { return "command line `" + s + "`" }

// parseTOMLValue parses raw as the value of one TOML key.
func parseTOMLValue(raw string) (any, error) {
	var m map[string]any
	if _, err := toml.Decode("v = "+raw, &m); err != nil {
		return nil, err
	}
	if len(m) != 1 {
		return nil, fmt.Errorf("more than one value")
	}
	return m["v"], nil
}

// bareList reads "a" as ["a"], "[a, b]" as ["a", "b"] (Hydra's unquoted list syntax) and ""
// as an empty list.
func bareList(raw string) []string {
	if raw == "" {
		return []string{}
	}
	inner, ok := strings.CutPrefix(raw, "[")
	if !ok || !strings.HasSuffix(inner, "]") {
		return []string{raw}
	}
	inner = strings.TrimSpace(strings.TrimSuffix(inner, "]"))
	if inner == "" {
		return []string{}
	}
	var out []string
	for _, item := range strings.Split(inner, ",") {
		out = append(out, strings.Trim(strings.TrimSpace(item), `"'`))
	}
	return out
}

func example(t reflect.Type) string {
	switch describeGoType(t) {
	case "an integer":
		return "42"
	case "a number":
		return "0.5"
	case "a boolean (true or false)":
		return "true"
	case "a number or an array of numbers":
		return "[1.0, 0.5]"
	}
	return "{key = \"value\"}"
}

// targetType returns the Go type a key path assigns to.
func targetType(path []string) (reflect.Type, *Problem) {
	key := strings.Join(path, ".")
	if isGroupKey(path[0]) {
		if len(path) > 1 {
			return nil, &Problem{Key: path[0], Msg: fmt.Sprintf("%s: a group name takes a file name, not a table", key)}
		}
		return reflect.TypeOf(""), nil
	}
	f := lookup(path[0])
	if f == nil {
		return nil, &Problem{Key: path[0], Msg: fmt.Sprintf("unknown key `%s`%s",
			path[0], didYouMean(path[0], topLevelNames()))}
	}
	t := f.typ
	for i, seg := range path[1:] {
		switch {
		case t == pluginType && seg == "plugin":
			t = reflect.TypeOf("")
		case t == pluginType && seg == "settings":
			t = freeFormType
		case t == pluginType:
			return nil, &Problem{Key: f.key, Msg: fmt.Sprintf("unknown key `%s`%s; a plugin table holds plugin and settings",
				strings.Join(path[:i+2], "."), didYouMean(seg, []string{"plugin", "settings"}))}
		case t == freeFormType || t == anyType:
			t = anyType
		default:
			return nil, &Problem{Key: f.key, Msg: fmt.Sprintf("%s: %s is not a table, so it has no `%s`",
				key, strings.Join(path[:i+1], "."), seg)}
		}
	}
	return t, nil
}

// applyOverride sets the key of o in c.
func applyOverride(c *Config, o override) *Problem {
	where := cliWhere(o.text)
	if o.null {
		if p := unset(c, o.path); p != nil {
			p.Where = where
			return p
		}
		c.setOrigin(o.path[0], where)
		return nil
	}
	value, err := formatValue(o.value)
	if err != nil {
		return &Problem{Where: where, Key: o.path[0], Msg: err.Error()}
	}
	keys := make([]string, len(o.path))
	for i, seg := range o.path {
		keys[i] = formatKey(seg)
	}
	d, p := parseDocument(where, strings.Join(keys, ".")+" = "+value, true)
	if p != nil {
		return p
	}
	if p := decodeField(c, lookup(o.path[0]), d, o.path[0]); p != nil {
		return p
	}
	c.setOrigin(o.path[0], where)
	return nil
}

// unset implements key=null: a None default becomes nil again; a table entry is removed.
func unset(c *Config, path []string) *Problem {
	f := lookup(path[0])
	dst := reflect.ValueOf(c).Elem().Field(f.index)
	if len(path) == 1 {
		switch f.typ.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice:
			dst.Set(reflect.Zero(f.typ))
			return nil
		}
		if f.typ == pluginType {
			dst.Set(reflect.ValueOf(PluginSpec{}))
			return nil
		}
		return &Problem{Key: f.key, Msg: fmt.Sprintf("%s cannot be null: it has no unset state; give %s",
			f.key, describeGoType(f.typ))}
	}
	var m map[string]any
	rest := path[1:]
	spec, _ := dst.Addr().Interface().(*PluginSpec)
	switch {
	case f.typ == freeFormType:
		m = dst.Interface().(map[string]any)
	case spec != nil && rest[0] == "plugin" && len(rest) == 1:
		spec.Plugin = ""
		return nil
	case spec != nil && rest[0] == "settings" && len(rest) == 1:
		spec.Settings = nil
		return nil
	case spec != nil && rest[0] == "settings":
		m, rest = spec.Settings, rest[1:]
	default:
		return &Problem{Key: f.key, Msg: fmt.Sprintf("%s cannot be null", strings.Join(path, "."))}
	}
	for len(rest) > 1 && m != nil {
		m, _ = m[rest[0]].(map[string]any)
		rest = rest[1:]
	}
	delete(m, rest[0]) // a no-op when the entry is already absent
	return nil
}

// Set assigns value to key as a command-line override key=value would (TOML value syntax,
// bare strings for string keys, "null" to unset, dotted keys into tables).
func (c *Config) Set(key, value string) error {
	o, p := parseOverride(key + "=" + value)
	if p == nil && isGroupKey(o.path[0]) {
		p = &Problem{Where: cliWhere(o.text), Key: o.path[0], Msg: fmt.Sprintf(
			"%s selects a file of configs/%s/ and only works in Load (a run file or its overrides)",
			o.path[0], o.path[0])}
	}
	if p == nil {
		p = applyOverride(c, o)
	}
	if p != nil {
		return ValidationErrors{*p}
	}
	return nil
}

func (c *Config) setOrigin(key, where string) {
	if c.origins == nil {
		c.origins = map[string]string{}
	}
	c.origins[key] = where
}
