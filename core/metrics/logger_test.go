package metrics

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEncodeRow(t *testing.T) {
	got := string(encodeRow(3, map[string]float64{
		"loss": 0.5, "epoch": 0.25, "reward": math.NaN(), "rewards/fmt/mean": 1e-7, "kl": math.Inf(1), "step_time": 12,
	}))
	want := `{"step":3,"epoch":0.25,"kl":null,"loss":0.5,"reward":null,"rewards/fmt/mean":1e-07,"step_time":12}`
	if got != want {
		t.Fatalf("row\n got %s\nwant %s", got, want)
	}
}

func TestMetricsJSONLResume(t *testing.T) {
	out := t.TempDir()
	path := filepath.Join(out, MetricsFile)
	// A crashed run logged steps 1..5 and was killed while writing step 6.
	var crashed bytes.Buffer
	for s := int64(1); s <= 5; s++ {
		crashed.Write(encodeRow(s, map[string]float64{"loss": float64(s)}))
		crashed.WriteByte('\n')
	}
	crashed.WriteString(`{"step":6,"lo`)
	if err := os.WriteFile(path, crashed.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	hist := []map[string]any{{"step": 2.0, "loss": 2.0}, {"step": 4.0, "loss": 4.0}} // as decoded from JSON
	l, err := Open(Config{OutputDir: out, ResumeStep: 3, History: hist, Progress: new(bytes.Buffer), PlainProgress: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Log(4, map[string]float64{"loss": 40}); err != nil {
		t.Fatal(err)
	}
	// Written through before Close.
	data, _ := os.ReadFile(path)
	want := `{"step":1,"loss":1}` + "\n" + `{"step":2,"loss":2}` + "\n" + `{"step":3,"loss":3}` + "\n" + `{"step":4,"loss":40}` + "\n"
	if string(data) != want {
		t.Fatalf("metrics.jsonl after resume at 3:\n%s\nwant\n%s", data, want)
	}
	h := l.History()
	if len(h) != 2 || h[0]["step"] != 2.0 || h[1]["step"] != int64(4) || h[1]["loss"] != 40.0 {
		t.Fatalf("history %v: want the resumed entry for step 2, then the new step 4", h)
	}
	l.Close()

	// A fresh run in the same directory starts an empty file.
	l, err = Open(Config{OutputDir: out, Progress: new(bytes.Buffer)})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if data, _ := os.ReadFile(path); len(data) != 0 {
		t.Fatalf("fresh run kept %q", data)
	}
}

func TestPlainProgressLine(t *testing.T) {
	p := &progress{max: 10, start: 2}
	got := p.line(6, map[string]float64{"loss": 0.123456, "reward": math.NaN()}, 10*time.Second)
	// 4 steps in 10 s: 2.5 s/step, 4 steps left: 10 s.
	want := "step 6/10 (60%) | 2.5s/step | eta 10s | loss 0.1235 | reward nan"
	if got != want {
		t.Fatalf("line\n got %q\nwant %q", got, want)
	}
	p = &progress{}
	if got := p.line(3, nil, time.Second); got != "step 3 | 333ms/step" {
		t.Fatalf("unknown max steps: %q", got)
	}
	// Not a terminal: the Logger prints plain lines.
	var buf bytes.Buffer
	l, err := Open(Config{OutputDir: t.TempDir(), MaxSteps: 4, Progress: &buf})
	if err != nil {
		t.Fatal(err)
	}
	l.Advance(1)
	_ = l.Log(2, map[string]float64{"loss": 1})
	l.Close()
	if !strings.HasPrefix(buf.String(), "step 2/4 (50%) | ") || strings.Count(buf.String(), "\n") != 1 {
		t.Fatalf("plain output %q", buf.String())
	}
}

func TestWindow(t *testing.T) {
	var w Window
	w.Add("loss", 1)
	w.Add("loss", 2)
	w.AddAll(map[string]float64{"loss": 6, "reward": math.NaN()})
	w.Add("kl", math.NaN())
	w.Add("kl", 0.5)
	m := w.Mean()
	if m["loss"] != 3 || m["kl"] != 0.5 || !math.IsNaN(m["reward"]) || len(m) != 3 {
		t.Fatalf("mean %v: want loss 3, kl 0.5 (NaN skipped), reward NaN (all NaN)", m)
	}
	if len(w.Mean()) != 0 {
		t.Fatal("Mean did not start a new window")
	}
}
