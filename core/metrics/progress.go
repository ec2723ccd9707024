package metrics

import (
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows training progress: a progressbar/v3 bar with ETA and the latest loss and
// reward on a terminal, or one plain line per logged step otherwise (CI logs, files, pipes),
// like HF Trainer's console logging.
type progress struct {
	out        io.Writer
	bar        *progressbar.ProgressBar // nil: plain lines
	max, start int64
	t0         time.Time
	metricText string // the latest logged metrics, shown after the step in the bar
}

// barKeys are the metrics shown in the bar's description, in this order, when present.
var barKeys = []string{"loss", "reward", "kl", "grad_norm"}

func newProgress(out io.Writer, maxSteps, startStep int64, plain bool) *progress {
	p := &progress{out: out, max: maxSteps, start: startStep, t0: time.Now()}
	if plain || !isTerminal(out) {
		return p
	}
	total := int64(-1) // unknown length: a spinner
	if maxSteps > startStep {
		total = maxSteps - startStep // the bar counts this run's steps, so its rate and ETA are right after a resume
	}
	p.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(out),
		progressbar.OptionSetDescription(p.stepText(startStep)),
		progressbar.OptionSetItsString("step"),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionFullWidth(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(out) }),
	)
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p *progress) stepText(step int64) string {
	if p.max > 0 {
		return fmt.Sprintf("step %d/%d", step, p.max)
	}
	return fmt.Sprintf("step %d", step)
}

// advance moves the bar to global step (plain mode prints nothing between logs).
func (p *progress) advance(step int64) {
	if p.bar != nil {
		p.bar.Describe(p.stepText(step) + p.metricText)
		_ = p.bar.Set64(step - p.start)
	}
}

// logged shows the metrics of a logging step.
func (p *progress) logged(step int64, values map[string]float64) {
	if p.bar != nil {
		var b strings.Builder
		for _, k := range barKeys {
			if v, ok := values[k]; ok {
				fmt.Fprintf(&b, " | %s %.4g", k, v)
			}
		}
		p.metricText = b.String()
		p.advance(step)
		return
	}
	fmt.Fprintln(p.out, p.line(step, values, time.Since(p.t0)))
}

// line is the plain progress line: position, speed and ETA, then every metric sorted.
func (p *progress) line(step int64, values map[string]float64, elapsed time.Duration) string {
	var b strings.Builder
	b.WriteString(p.stepText(step))
	if p.max > 0 {
		fmt.Fprintf(&b, " (%.0f%%)", 100*float64(step)/float64(p.max))
	}
	if done := step - p.start; done > 0 {
		per := elapsed / time.Duration(done)
		fmt.Fprintf(&b, " | %s/step", roundDuration(per))
		if p.max > step {
			fmt.Fprintf(&b, " | eta %s", roundDuration(per*time.Duration(p.max-step)))
		}
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := values[k]
		if math.IsNaN(v) {
			fmt.Fprintf(&b, " | %s nan", k)
			continue
		}
		fmt.Fprintf(&b, " | %s %.4g", k, v)
	}
	return b.String()
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
