// Package metrics records a training run: metrics.jsonl (always), TensorBoard event files
// (report_to includes "tensorboard"), a progress bar with ETA (or plain lines when stdout is not
// a terminal), the log history kept in trainer_state.json, and sampled completions
// (CompletionLogger). Metric names follow TRL: loss, reward, reward_std, rewards/<name>/mean,
// kl, clip_ratio/..., entropy, completions/mean_length, learning_rate, grad_norm, step_time, ...
//
// A resumed run passes the step it resumed from: rows logged after it (by the run that crashed)
// are dropped from metrics.jsonl, TensorBoard is told to hide them, and stored completions of
// later steps are removed, so the resumed run's logs read as one uninterrupted run.
package metrics

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Config configures a Logger. Names in comments are the TrainingArguments keys.
type Config struct {
	OutputDir  string   // output_dir: metrics.jsonl goes here
	LoggingDir string   // logging_dir: TensorBoard event files ("" = OutputDir/runs)
	ReportTo   []string // report_to: "tensorboard", "all" (= tensorboard) or "none"
	MaxSteps   int64    // total optimizer steps, for the progress bar and ETA (0 = unknown)
	// ResumeStep is the global step of the checkpoint the run resumed from (0 for a fresh run,
	// which starts metrics.jsonl empty).
	ResumeStep int64
	// History is the resumed checkpoint's trainer_state.json log_history.
	History []map[string]any
	// Progress receives the progress bar or lines (nil = os.Stdout).
	Progress io.Writer
	// PlainProgress prints plain lines even on a terminal (disable_tqdm).
	PlainProgress bool
}

// Logger writes every logged step to all configured sinks. It is safe for concurrent use.
type Logger struct {
	mu       sync.Mutex
	jsonl    *jsonlWriter
	tb       *eventWriter
	progress *progress
	history  []map[string]any
}

// ReportTargets lists the report_to values this package handles.
var ReportTargets = []string{"tensorboard", "all", "none"}

// Open creates the output directory and the configured sinks.
func Open(cfg Config) (*Logger, error) {
	if cfg.OutputDir == "" {
		return nil, fmt.Errorf("metrics: output_dir is empty")
	}
	if cfg.ResumeStep < 0 {
		return nil, fmt.Errorf("metrics: negative resume step %d", cfg.ResumeStep)
	}
	tensorboard := false
	for _, r := range cfg.ReportTo {
		switch strings.ToLower(strings.TrimSpace(r)) {
		case "tensorboard", "all":
			tensorboard = true
		case "none", "":
		default:
			return nil, fmt.Errorf("report_to %q is not supported: use %s (metrics.jsonl is always written)",
				r, strings.Join(ReportTargets, ", "))
		}
	}
	if err := os.MkdirAll(cfg.OutputDir, 0o755); err != nil {
		return nil, fmt.Errorf("metrics: creating output_dir: %w", err)
	}
	l := &Logger{}
	var err error
	if l.jsonl, err = openJSONL(filepath.Join(cfg.OutputDir, MetricsFile), cfg.ResumeStep); err != nil {
		return nil, err
	}
	if tensorboard {
		dir := cfg.LoggingDir
		if dir == "" {
			dir = filepath.Join(cfg.OutputDir, "runs")
		}
		if l.tb, err = newEventWriter(dir, cfg.ResumeStep+1); err != nil {
			l.jsonl.close()
			return nil, err
		}
	}
	for _, h := range cfg.History {
		if s, ok := historyStep(h); ok && s <= cfg.ResumeStep {
			l.history = append(l.history, h)
		}
	}
	out := cfg.Progress
	if out == nil {
		out = os.Stdout
	}
	l.progress = newProgress(out, cfg.MaxSteps, cfg.ResumeStep, cfg.PlainProgress)
	return l, nil
}

func historyStep(h map[string]any) (int64, bool) {
	switch s := h["step"].(type) {
	case int64:
		return s, true
	case int:
		return int64(s), true
	case float64:
		return int64(s), true
	}
	return 0, false
}

// Log records the metrics of one logging step (a Window's Mean, plus learning_rate, epoch, …).
// Each sink is flushed before Log returns.
func (l *Logger) Log(step int64, values map[string]float64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.jsonl.write(step, values); err != nil {
		return err
	}
	if l.tb != nil {
		tb := make(map[string]float64, len(values))
		for k, v := range values {
			tb["train/"+k] = v // HF's TensorBoardCallback (rewrite_logs) prefixes training logs with "train/"
		}
		if err := l.tb.scalars(step, tb); err != nil {
			return err
		}
	}
	rec := map[string]any{"step": step}
	for k, v := range values {
		rec[k] = v
	}
	l.history = append(l.history, rec)
	l.progress.logged(step, values)
	return nil
}

// Advance moves the progress bar to global step; call it after every optimizer step.
func (l *Logger) Advance(step int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.progress.advance(step)
}

// Text records a text summary in TensorBoard (e.g. the resolved config at step 0, as HF logs
// its arguments). It does nothing when TensorBoard is off.
func (l *Logger) Text(step int64, tag, text string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tb == nil {
		return nil
	}
	return l.tb.text(step, tag, text)
}

// History returns the log history for trainer_state.json (a copy).
func (l *Logger) History() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.history)
}

// Close finishes the progress bar and closes the files.
func (l *Logger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.progress.finish()
	err := l.jsonl.close()
	if l.tb != nil {
		if e := l.tb.close(); err == nil {
			err = e
		}
	}
	return err
}
