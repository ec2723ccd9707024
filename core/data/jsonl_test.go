package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadJSONLKeepsColumnOrderAndTypes(t *testing.T) {
	p := writeFile(t, filepath.Join(t.TempDir(), "train.jsonl"),
		"\xEF\xBB\xBF{\"zeta\": \"a\", \"alpha\": 3, \"mid\": 2.5}\r\n"+
			"\n"+
			`{"alpha": -7, "extra": [1, {"k": true}], "zeta": null, "big": 12345678901234567890}`+"\n"+
			`{"zeta": "\\boxed{1}"}`) // no trailing newline
	ds, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"zeta", "alpha", "mid", "extra", "big"}; !reflect.DeepEqual(ds.Columns, want) {
		t.Errorf("columns = %v, want %v", ds.Columns, want)
	}
	want := []Row{
		{"zeta": "a", "alpha": int64(3), "mid": 2.5},
		{"alpha": int64(-7), "extra": []any{int64(1), map[string]any{"k": true}}, "zeta": nil, "big": 12345678901234567890.0},
		{"zeta": `\boxed{1}`},
	}
	if !reflect.DeepEqual(ds.Rows, want) {
		t.Errorf("rows = %#v\nwant %#v", ds.Rows, want)
	}
	if got := []int{ds.Origins[0].Line, ds.Origins[1].Line, ds.Origins[2].Line}; !reflect.DeepEqual(got, []int{1, 3, 4}) {
		t.Errorf("lines = %v, want [1 3 4] (blank line skipped but counted)", got)
	}
	if ds.Where(1) != p+":3" {
		t.Errorf("Where(1) = %q", ds.Where(1))
	}
}

func TestReadJSONErrorsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, content string
		want          []string
	}{
		{"bad.jsonl", "{\"a\": 1}\n{\"a\": 2,}\n", []string{"bad.jsonl:2:", "invalid JSON", "at byte"}},
		{"cut.jsonl", "{\"a\": 1}\n{\"a\": \"x\n", []string{"cut.jsonl:2:"}},
		{"array.jsonl", "[1, 2]\n", []string{"array.jsonl:1:", "JSON array", "one JSON object"}},
		{"scalar.jsonl", "{\"a\":1}\n\n42\n", []string{"scalar.jsonl:3:", "scalar 42"}},
		{"trail.jsonl", "{\"a\":1} {\"b\":2}\n", []string{"trail.jsonl:1:", "after the JSON object"}},
		{"arr.json", "[\n {\"a\": 1},\n 7\n]", []string{"arr.json:3:", "want an object"}},
	}
	for _, c := range cases {
		_, err := ReadFile(writeFile(t, filepath.Join(dir, c.name), c.content))
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
}

func TestReadJSONArrayAndGzip(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, filepath.Join(dir, "rows.json"), "  [\n  {\"q\": \"x\", \"n\": 1},\n  {\"n\": 2, \"q\": \"y\"}\n]\n")
	ds, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ds.Columns, []string{"q", "n"}) || len(ds.Rows) != 2 || ds.Rows[1]["n"] != int64(2) {
		t.Fatalf("got columns %v rows %v", ds.Columns, ds.Rows)
	}
	if ds.Origins[1].Line != 3 {
		t.Errorf("second element line = %d, want 3", ds.Origins[1].Line)
	}

	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("{\"a\": \"b\"}\n{\"a\": \"c\"}\n"))
	zw.Close()
	gz := writeFile(t, filepath.Join(dir, "x.jsonl.gz"), buf.String())
	ds, err = ReadFile(gz)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Rows) != 2 || ds.Rows[1]["a"] != "c" {
		t.Errorf("gzip rows = %v", ds.Rows)
	}
}

func TestWriteJSONLRoundTrip(t *testing.T) {
	ds := &Dataset{Name: "mem", Columns: []string{"b", "a"}, Rows: []Row{
		{"a": int64(1), "b": "<x>&\\boxed{2}"},
		{"b": "only b", "zz": []any{1.5, nil}},
	}}
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, ds); err != nil {
		t.Fatal(err)
	}
	want := `{"b":"<x>&\\boxed{2}","a":1}` + "\n" + `{"b":"only b","zz":[1.5,null]}` + "\n"
	if buf.String() != want {
		t.Fatalf("WriteJSONL =\n%s\nwant\n%s", buf.String(), want)
	}
	back, err := ReadFile(writeFile(t, filepath.Join(t.TempDir(), "rt.jsonl"), buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Rows, ds.Rows) {
		t.Errorf("round trip rows = %v, want %v", back.Rows, ds.Rows)
	}
}

func newLineReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

// BenchmarkReadJSONL reads Bespoke-Stratos-sized rows (a ~16 KB reasoning trace each).
func BenchmarkReadJSONL(b *testing.B) {
	trace := strings.Repeat("Let me think about this step by step. ", 420)
	var buf bytes.Buffer
	for i := range 500 {
		fmt.Fprintf(&buf, `{"system": "sys", "conversations": [{"from": "user", "value": "Question %d?"}, {"from": "assistant", "value": %q}]}`+"\n", i, trace)
	}
	p := filepath.Join(b.TempDir(), "bench.jsonl")
	os.WriteFile(p, buf.Bytes(), 0o644)
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		if _, err := ReadFile(p); err != nil {
			b.Fatal(err)
		}
	}
}
