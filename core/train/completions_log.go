package train

import (
	"io"
	"log/slog"
	"os"

	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/metrics"
)

// tableRows is how many completions log_completions prints per logged step.
const tableRows = 4

// completions logs sampled completions on logging steps (RLT trainers/grpo.py:1140-1175):
// log_completions prints a table (TRL prints one with rich), save_completions_probability
// appends a random fraction to output_dir/stored_completions/<step>.csv.
type completions struct {
	every  int64
	print  bool
	table  io.Writer
	prob   float64
	outDir string
	seed   int64
	names  []string
	store  *metrics.CompletionLogger // opened at the first logged step (it needs the resume step)
	opened bool
	resume int64
}

func newCompletions(cfg *config.Config, table io.Writer, names []string) *completions {
	if table == nil {
		table = os.Stderr
	}
	c := &completions{every: int64(max(cfg.LoggingSteps, 1)), print: cfg.LogCompletions, table: table,
		outDir: cfg.OutputDir, seed: cfg.Seed, names: names}
	if cfg.SaveCompletionsProbability != nil {
		c.prob = *cfg.SaveCompletionsProbability
	}
	return c
}

// logCompletions logs the rounds of step (1-based) when it is a logging step.
func (t *GRPO) logCompletions(step int64, rounds []*round) error {
	c := t.logs
	if (!c.print && c.prob <= 0) || step%c.every != 0 {
		return nil
	}
	var rows []metrics.Completion
	for _, rd := range rounds {
		for i, comp := range rd.completions {
			r := metrics.Completion{Prompt: rd.examples[i].Prompt, Completion: comp.Text, Reward: rd.adv.Rewards[i],
				Rewards: make(map[string]float64, len(c.names))}
			for k, name := range c.names {
				r.Rewards[name] = rd.rewards[k][i]
			}
			rows = append(rows, r)
		}
	}
	if c.print {
		if err := metrics.WriteTable(c.table, step, rows, tableRows); err != nil {
			slog.Warn("log_completions: writing the table failed", "error", err)
		}
	}
	if c.prob <= 0 {
		return nil
	}
	if !c.opened {
		l, err := metrics.NewCompletionLogger(c.outDir, c.prob, c.seed, "csv", c.resume)
		if err != nil {
			return err
		}
		c.store, c.opened = l, true
	}
	_, err := c.store.Log(step, rows)
	return err
}
