package metrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Completion is one generated sample and its scores.
type Completion struct {
	Prompt     string
	Completion string
	Reward     float64            // the weighted total the advantages were computed from
	Rewards    map[string]float64 // per reward function (NaN: no score)
}

// CompletionsDir is where CSV completions go inside output_dir, one file per step, as RLT's
// stored_completions/<global_step>.csv (rlt.md §2.7).
const CompletionsDir = "stored_completions"

// CompletionsJSONL is the single file of the "jsonl" format inside output_dir.
const CompletionsJSONL = "completions.jsonl"

// CompletionLogger saves a random fraction of each logged step's completions
// (save_completions_probability). Whether a row is kept depends only on the seed, the step and
// the row's position, so a resumed run stores exactly what an uninterrupted one would.
type CompletionLogger struct {
	outputDir string
	prob      float64
	seed      uint64
	format    string
}

// NewCompletionLogger returns a logger writing format "csv" (RLT's layout: step, prompt,
// completion, reward, then one rewards/<name> column per reward function; every field quoted,
// `"` doubled and `\` escaped as Python's csv.writer(quoting=QUOTE_ALL, escapechar='\\')) or
// "jsonl" (one object per row in completions.jsonl). resumeStep > 0 removes what an earlier,
// interrupted run stored for later steps; a fresh run (0) starts with none.
func NewCompletionLogger(outputDir string, probability float64, seed int64, format string, resumeStep int64) (*CompletionLogger, error) {
	if !(probability >= 0 && probability <= 1) {
		return nil, fmt.Errorf("save_completions_probability = %g: must be in [0, 1]", probability)
	}
	if format == "" {
		format = "csv"
	}
	c := &CompletionLogger{outputDir: outputDir, prob: probability, seed: uint64(seed), format: format}
	switch format {
	case "csv":
		if err := removeCSVsAfter(filepath.Join(outputDir, CompletionsDir), resumeStep); err != nil {
			return nil, err
		}
	case "jsonl":
		err := trimRows(filepath.Join(outputDir, CompletionsJSONL), resumeStep, func(line []byte) (int64, bool) {
			var r struct {
				Step *int64 `json:"step"`
			}
			if json.Unmarshal(line, &r) != nil || r.Step == nil {
				return 0, false
			}
			return *r.Step, true
		})
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("completions format %q: use \"csv\" or \"jsonl\"", format)
	}
	return c, nil
}

func removeCSVsAfter(dir string, keepThrough int64) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	for _, e := range entries {
		s, ok := strings.CutSuffix(e.Name(), ".csv")
		if !ok {
			continue
		}
		if step, err := strconv.ParseInt(s, 10, 64); err == nil && step > keepThrough {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("metrics: %w", err)
			}
		}
	}
	return nil
}

// Sample returns the indices of rows kept at step.
func (c *CompletionLogger) Sample(step int64, n int) []int {
	rng := rand.New(rand.NewPCG(c.seed, uint64(step)))
	var keep []int
	for i := range n {
		if rng.Float64() < c.prob {
			keep = append(keep, i)
		}
	}
	return keep
}

// Log stores the sampled rows of step and returns how many were stored.
func (c *CompletionLogger) Log(step int64, rows []Completion) (int, error) {
	keep := c.Sample(step, len(rows))
	if len(keep) == 0 {
		return 0, nil
	}
	names := rewardNames(rows)
	var buf bytes.Buffer
	var path string
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	switch c.format {
	case "csv":
		dir := filepath.Join(c.outputDir, CompletionsDir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, fmt.Errorf("metrics: %w", err)
		}
		path = filepath.Join(dir, strconv.FormatInt(step, 10)+".csv")
		header := []string{"step", "prompt", "completion", "reward"}
		for _, n := range names {
			header = append(header, "rewards/"+n)
		}
		writeCSVRow(&buf, header)
		for _, i := range keep {
			r := rows[i]
			rec := []string{strconv.FormatInt(step, 10), r.Prompt, r.Completion, csvFloat(r.Reward)}
			for _, n := range names {
				v, ok := r.Rewards[n]
				if !ok {
					v = math.NaN()
				}
				rec = append(rec, csvFloat(v))
			}
			writeCSVRow(&buf, rec)
		}
	case "jsonl":
		path = filepath.Join(c.outputDir, CompletionsJSONL)
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
		for _, i := range keep {
			r := rows[i]
			rw := map[string]*float64{}
			for k, v := range r.Rewards {
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					rw[k] = &v
				} else {
					rw[k] = nil
				}
			}
			var total *float64
			if !math.IsNaN(r.Reward) && !math.IsInf(r.Reward, 0) {
				total = &r.Reward
			}
			line, err := json.Marshal(struct {
				Step       int64               `json:"step"`
				Prompt     string              `json:"prompt"`
				Completion string              `json:"completion"`
				Reward     *float64            `json:"reward"`
				Rewards    map[string]*float64 `json:"rewards"`
			}{step, r.Prompt, r.Completion, total, rw})
			if err != nil {
				return 0, fmt.Errorf("metrics: encoding completion %d of step %d: %w", i, step, err)
			}
			buf.Write(line)
			buf.WriteByte('\n')
		}
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return 0, fmt.Errorf("metrics: writing %s: %w", path, err)
	}
	return len(keep), f.Close()
}

func rewardNames(rows []Completion) []string {
	set := map[string]bool{}
	for _, r := range rows {
		for k := range r.Rewards {
			set[k] = true
		}
	}
	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func csvFloat(v float64) string {
	if math.IsNaN(v) {
		return "nan" // what Python writes for float('nan')
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// writeCSVRow writes fields as Python's csv.writer(quoting=csv.QUOTE_ALL, escapechar='\\')
// does: every field quoted, quotes doubled, backslashes escaped, rows ended by \r\n.
func writeCSVRow(w *bytes.Buffer, fields []string) {
	for i, f := range fields {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteByte('"')
		for _, r := range f {
			switch r {
			case '"':
				w.WriteString(`""`)
			case '\\':
				w.WriteString(`\\`)
			default:
				w.WriteRune(r)
			}
		}
		w.WriteByte('"')
	}
	w.WriteString("\r\n")
}

// WriteTable prints up to max completions of a step as a compact text table (log_completions
// on the console, as TRL prints a table of prompt, completion and reward).
func WriteTable(w io.Writer, step int64, rows []Completion, max int) error {
	if max <= 0 || max > len(rows) {
		max = len(rows)
	}
	names := rewardNames(rows)
	if _, err := fmt.Fprintf(w, "── completions at step %d (%d of %d) ──\n", step, max, len(rows)); err != nil {
		return err
	}
	for i := range max {
		r := rows[i]
		var sc []string
		sc = append(sc, "reward "+csvFloat(r.Reward))
		for _, n := range names {
			if v, ok := r.Rewards[n]; ok {
				sc = append(sc, n+" "+csvFloat(v))
			}
		}
		if _, err := fmt.Fprintf(w, "[%d] %s\n  prompt:     %s\n  completion: %s\n", i, strings.Join(sc, ", "),
			oneLine(r.Prompt, 200), oneLine(r.Completion, 400)); err != nil {
			return err
		}
	}
	return nil
}

// oneLine shows s on one line (newlines as ⏎), cut to at most n runes.
func oneLine(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", "⏎")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
