package metrics

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCSVMatchesPython(t *testing.T) {
	// Python: csv.writer(s, quoting=csv.QUOTE_ALL, escapechar="\\").writerow([1, 'a"b', 'c\\d', 'e\nf'])
	// writes '"1","a""b","c\\\\d","e\nf"\r\n' (repr), i.e. the bytes below.
	var b bytes.Buffer
	writeCSVRow(&b, []string{"1", `a"b`, `c\d`, "e\nf"})
	if want := "\"1\",\"a\"\"b\",\"c\\\\d\",\"e\nf\"\r\n"; b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func rows(n int) []Completion {
	var r []Completion
	for i := range n {
		r = append(r, Completion{Prompt: "Q" + string(rune('a'+i%26)), Completion: "A", Reward: float64(i),
			Rewards: map[string]float64{"math": 1, "format": math.NaN()}})
	}
	return r
}

func TestCompletionsCSV(t *testing.T) {
	out := t.TempDir()
	c, err := NewCompletionLogger(out, 1, 42, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.Log(7, []Completion{{Prompt: "What is 2+2?", Completion: "<answer>4</answer>\n", Reward: 1.5,
		Rewards: map[string]float64{"math": 1, "format": 0.5}}})
	if err != nil || n != 1 {
		t.Fatalf("Log: %d, %v", n, err)
	}
	data, _ := os.ReadFile(filepath.Join(out, CompletionsDir, "7.csv"))
	want := "\"step\",\"prompt\",\"completion\",\"reward\",\"rewards/format\",\"rewards/math\"\r\n" +
		"\"7\",\"What is 2+2?\",\"<answer>4</answer>\n\",\"1.5\",\"0.5\",\"1\"\r\n"
	if string(data) != want {
		t.Fatalf("csv\n got %q\nwant %q", data, want)
	}
}

func TestCompletionSampling(t *testing.T) {
	out := t.TempDir()
	c, _ := NewCompletionLogger(out, 0.1, 42, "jsonl", 0)
	keep := c.Sample(3, 10000)
	if len(keep) < 900 || len(keep) > 1100 {
		t.Fatalf("kept %d of 10000 at p=0.1", len(keep))
	}
	again, _ := NewCompletionLogger(out, 0.1, 42, "jsonl", 0)
	if a, b := again.Sample(3, 10000), keep; len(a) != len(b) || a[0] != b[0] || a[len(a)-1] != b[len(b)-1] {
		t.Fatal("same seed and step sampled different rows")
	}
	other, _ := NewCompletionLogger(out, 0.1, 43, "jsonl", 0)
	if o := other.Sample(3, 10000); len(o) == len(keep) && o[0] == keep[0] && o[10] == keep[10] {
		t.Fatal("another seed sampled the same rows")
	}
	none, _ := NewCompletionLogger(out, 0, 1, "csv", 0)
	if n, err := none.Log(1, rows(50)); n != 0 || err != nil {
		t.Fatalf("p=0 stored %d, %v", n, err)
	}
	if _, err := NewCompletionLogger(out, 1.5, 1, "csv", 0); err == nil || !strings.Contains(err.Error(), "save_completions_probability") {
		t.Fatalf("p=1.5: %v", err)
	}
	if _, err := NewCompletionLogger(out, 0.5, 1, "parquet", 0); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestCompletionsResume(t *testing.T) {
	out := t.TempDir()
	csv, _ := NewCompletionLogger(out, 1, 1, "csv", 0)
	js, _ := NewCompletionLogger(out, 1, 1, "jsonl", 0)
	for s := int64(1); s <= 4; s++ {
		if _, err := csv.Log(s, rows(2)); err != nil {
			t.Fatal(err)
		}
		if _, err := js.Log(s, rows(2)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := NewCompletionLogger(out, 1, 1, "csv", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := NewCompletionLogger(out, 1, 1, "jsonl", 2); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(out, CompletionsDir, "*.csv"))
	if len(files) != 2 || filepath.Base(files[0]) != "1.csv" || filepath.Base(files[1]) != "2.csv" {
		t.Fatalf("after resume at 2: %v", files)
	}
	data, _ := os.ReadFile(filepath.Join(out, CompletionsJSONL))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 {
		t.Fatalf("completions.jsonl after resume at 2 has %d rows, want 4", len(lines))
	}
	var r struct {
		Step    int64
		Reward  *float64
		Rewards map[string]*float64
	}
	if err := json.Unmarshal([]byte(lines[3]), &r); err != nil || r.Step != 2 || *r.Reward != 1 || r.Rewards["format"] != nil || *r.Rewards["math"] != 1 {
		t.Fatalf("row %s: %+v %v", lines[3], r, err)
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, 5, rows(3), 2); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if !strings.Contains(s, "step 5 (2 of 3)") || strings.Count(s, "completion:") != 2 || !strings.Contains(s, "format nan") {
		t.Fatalf("table:\n%s", s)
	}
}
