package metrics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// MetricsFile is the name of the metrics log in output_dir: one JSON object per logged step,
// keys in a stable order ("step", then "epoch" when present, then the rest sorted), floats in
// Go's shortest round-trip form, NaN and ±Inf as null.
const MetricsFile = "metrics.jsonl"

// encodeRow renders one metrics.jsonl line (without the newline).
func encodeRow(step int64, values map[string]float64) []byte {
	keys := make([]string, 0, len(values))
	for k := range values {
		if k != "step" && k != "epoch" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if _, ok := values["epoch"]; ok {
		keys = append([]string{"epoch"}, keys...)
	}
	var b bytes.Buffer
	b.WriteString(`{"step":`)
	b.WriteString(strconv.FormatInt(step, 10))
	for _, k := range keys {
		name, _ := json.Marshal(k)
		b.WriteByte(',')
		b.Write(name)
		b.WriteByte(':')
		b.WriteString(formatFloat(values[k]))
	}
	b.WriteByte('}')
	return b.Bytes()
}

func formatFloat(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "null"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// jsonlWriter appends rows to metrics.jsonl, writing each row with one write call.
type jsonlWriter struct {
	f    *os.File
	path string
}

// openJSONL opens path for appending after dropping every row with step > keepThrough (a
// resumed run re-logs those steps; a fresh run passes 0 and starts an empty file). Unparsable
// lines (a row cut short by a crash) are dropped with a warning.
func openJSONL(path string, keepThrough int64) (*jsonlWriter, error) {
	if err := trimRows(path, keepThrough, func(line []byte) (int64, bool) {
		var r struct {
			Step *int64 `json:"step"`
		}
		if json.Unmarshal(line, &r) != nil || r.Step == nil {
			return 0, false
		}
		return *r.Step, true
	}); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &jsonlWriter{f: f, path: path}, nil
}

// trimRows rewrites a JSONL file keeping rows whose step (read by stepOf) is <= keepThrough.
// The rewrite goes through a temporary file and a rename, so a crash keeps the old file.
func trimRows(path string, keepThrough int64, stepOf func([]byte) (int64, bool)) error {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	var kept bytes.Buffer
	dropped, bad := 0, 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		step, ok := stepOf(line)
		switch {
		case !ok:
			bad++
		case step <= keepThrough:
			kept.Write(line)
			kept.WriteByte('\n')
		default:
			dropped++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("metrics: reading %s: %w", path, err)
	}
	if dropped == 0 && bad == 0 {
		return nil
	}
	if bad > 0 {
		slog.Warn("dropping unreadable rows (cut short by a crash?)", "file", path, "rows", bad)
	}
	if dropped > 0 {
		slog.Info("dropping rows logged after the resumed step", "file", path, "rows", dropped, "kept_through_step", keepThrough)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if _, err := tmp.Write(kept.Bytes()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("metrics: rewriting %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("metrics: rewriting %s: %w", path, err)
	}
	tmp.Close()
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("metrics: rewriting %s: %w", path, err)
	}
	return nil
}

func (w *jsonlWriter) write(step int64, values map[string]float64) error {
	line := append(encodeRow(step, values), '\n')
	if _, err := w.f.Write(line); err != nil {
		return fmt.Errorf("metrics: writing %s: %w", w.path, err)
	}
	return nil
}

func (w *jsonlWriter) close() error { return w.f.Close() }
