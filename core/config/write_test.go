package config

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPrintedConfigLoadsBack: `config print` output is a run file giving the same values.
func TestPrintedConfigLoadsBack(t *testing.T) {
	c, err := Load("../../configs/run/teacher_rlt.toml", "learning_rate=5e-6", "num_generations=16",
		`template.settings={style="chat", stop=["</s>"]}`, "system_prompt=Line one\nline 'two'",
		`backend_settings={url="http://localhost:8765", retries=3}`, "top_k=null", "min_p=0.05")
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyPluginFlags([]string{"builtin:format"}, "")
	for _, docs := range []bool{true, false} {
		var buf bytes.Buffer
		if err := c.write(&buf, docs); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, want := range []string{"\nlearning_rate = 5e-06  # command line `learning_rate=5e-6`\n",
			"\nnum_generations = 16  # command line `num_generations=16`\n", "\n# top_k = null  # command line `top_k=null`\n",
			"\n# [[rewards]] from: ../../configs/run/teacher_rlt.toml:",
			" and --plugin\n[[rewards]]\nplugin = \"builtin:teacher\"\n[[rewards]]\nplugin = \"builtin:format\"\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("docs=%v: output lacks %q", docs, want)
			}
		}
		path := filepath.Join(t.TempDir(), "printed.toml")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		c2, err := Load(path)
		if err != nil {
			t.Fatalf("docs=%v: %v\n%s", docs, err, out)
		}
		if !sameValues(c, c2) {
			t.Errorf("docs=%v: printed config loads to other values", docs)
		}
	}
}

// TestValueFormatting writes values and reads them back with BurntSushi/toml.
func TestValueFormatting(t *testing.T) {
	local := time.Date(1979, 5, 27, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		value any
		want  string
	}{
		{"plain", `"plain"`},
		{"tab\tquote\"back\\slash", `"tab\tquote\"back\\slash"`},
		{"ctl\x01\x7f", `"ctl\u0001\u007F"`},
		{"two\nlines", "'''\ntwo\nlines'''"},
		{"\nstarts with newline", "'''\n\nstarts with newline'''"},
		{"ends in quote\n'", `"ends in quote\n'"`},
		{"has ''' inside\n", `"has ''' inside\n"`},
		{"cr\r\nlf", `"cr\r\nlf"`},
		{1e-6, "1e-06"},
		{3.0, "3.0"},
		{math.Inf(-1), "-inf"},
		{int64(-7), "-7"},
		{[]any{int64(1), "a", true}, `[1, "a", true]`},
		{map[string]any{"b": 1.5, "a key": []any{}, "c": map[string]any{"d": false}}, `{"a key" = [], b = 1.5, c = {d = false}}`},
		{local, "1979-05-27T00:00:00Z"},
	}
	for _, tt := range tests {
		got, err := formatValue(tt.value)
		if err != nil || got != tt.want {
			t.Errorf("formatValue(%#v) = %q, %v; want %q", tt.value, got, err, tt.want)
			continue
		}
		back, err := parseTOMLValue(got)
		if err != nil {
			t.Errorf("%q does not parse back: %v", got, err)
			continue
		}
		if again, _ := formatValue(back); again != got {
			t.Errorf("%q reads back as %#v, which writes as %q", got, back, again)
		}
	}
	if _, err := formatValue((*int)(nil)); err == nil {
		t.Error("a nil value must be an error (TOML has no null)")
	}
}
