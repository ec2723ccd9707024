package config

import (
	"bufio"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// WriteTOML writes the whole configuration as TOML that Load reads back to the same values:
// every key in sections, each with its documentation, and after each value that did not come
// from the defaults a comment saying where it came from. Keys left unset (Python None) are
// written commented out, as `# key = null`.
func (c *Config) WriteTOML(w io.Writer) error { return c.write(w, true) }

// WriteTOMLValues is WriteTOML without the documentation comments.
func (c *Config) WriteTOMLValues(w io.Writer) error { return c.write(w, false) }

// tableKeys are written last, as TOML tables: once a [table] starts, every following key
// belongs to it.
var tableKeys = []string{"rewards", "template"}

func (c *Config) write(out io.Writer, docs bool) error {
	w := bufio.NewWriter(out)
	fmt.Fprintln(w, "# grpo configuration, fully resolved.")
	fmt.Fprintln(w, "# Composed from: defaults"+sourcesList(c.sources))
	if docs {
		fmt.Fprintln(w, "# Unset keys (Python None) are shown as `# key = null`; a trailing comment names the")
		fmt.Fprintln(w, "# file and line (or command-line override) that set a value.")
	}
	v := reflect.ValueOf(c).Elem()
	group := ""
	for _, f := range fields() {
		if f.group != group && docs {
			group = f.group
			fmt.Fprintf(w, "\n# ──── %s ────\n", group)
		}
		if isTableKey(f.key) {
			continue
		}
		if docs {
			writeDoc(w, f.doc)
		}
		if err := c.writeKey(w, f.key, v.Field(f.index)); err != nil {
			return err
		}
	}

	fmt.Fprintln(w)
	if docs {
		fmt.Fprintln(w, "# ──── Plugin tables ────")
		writeDoc(w, lookup("rewards").doc)
	}
	if len(c.Rewards) == 0 {
		fmt.Fprintln(w, "# (no [[rewards]] configured: add [[rewards]] tables, or pass --plugin PATH)")
	} else if o := c.origins["rewards"]; o != "" {
		fmt.Fprintln(w, "# [[rewards]] from: "+commentSafe(o))
	}
	for _, r := range c.Rewards {
		fmt.Fprintln(w, "[[rewards]]")
		if err := writePluginBody(w, r); err != nil {
			return err
		}
	}
	if docs {
		fmt.Fprintln(w)
		writeDoc(w, lookup("template").doc)
	}
	fmt.Fprintln(w, "[template]"+c.originComment("template"))
	if err := writePluginBody(w, c.Template); err != nil {
		return err
	}
	return w.Flush()
}

// writeKey writes `key = value  # origin`, or `# key = null` for an unset key.
func (c *Config) writeKey(w io.Writer, key string, v reflect.Value) error {
	if isNull(v) {
		_, err := fmt.Fprintln(w, "# "+key+" = null"+c.originComment(key))
		return err
	}
	s, err := formatValue(v.Interface())
	if err != nil {
		return fmt.Errorf("writing %s: %w", key, err)
	}
	_, err = fmt.Fprintln(w, key+" = "+s+c.originComment(key))
	return err
}

func writePluginBody(w io.Writer, p PluginSpec) error {
	fmt.Fprintf(w, "plugin = %s\n", quoteBasic(p.Plugin))
	if p.Settings == nil {
		return nil
	}
	s, err := formatValue(p.Settings)
	if err != nil {
		return fmt.Errorf("writing plugin %s settings: %w", p.Plugin, err)
	}
	_, err = fmt.Fprintln(w, "settings = "+s)
	return err
}

func (c *Config) originComment(key string) string {
	if o := c.origins[key]; o != "" {
		return "  # " + commentSafe(o)
	}
	return ""
}

func writeDoc(w io.Writer, doc string) {
	for _, line := range strings.Split(doc, "\n") {
		fmt.Fprintln(w, strings.TrimRight("# "+line, " "))
	}
}

func sourcesList(sources []string) string {
	if len(sources) == 0 {
		return ""
	}
	return ", " + commentSafe(strings.Join(sources, ", "))
}

func isTableKey(k string) bool {
	for _, t := range tableKeys {
		if t == k {
			return true
		}
	}
	return false
}

// commentSafe makes s fit in a TOML comment, which may not hold control characters.
func commentSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r != '\t' && (r < 0x20 || r == 0x7f) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}
