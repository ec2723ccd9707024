// Package batch converts between the core's reward types and the wire messages that cross a
// plugin boundary, and validates what a plugin sends back. Every reward host (WASM, built-in,
// process) uses it, so the same output rules hold for every kind of plugin: one reward per item,
// finite numbers, null = no score.
package batch

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/grpo-dev/grpo/core/reward"
	"github.com/grpo-dev/grpo/sdk/wire"
)

// Output problems found by Check; hosts wrap them with the plugin's name.
var (
	// ErrWrongCount: the result has a different number of rewards (or component values, or
	// info objects) than the batch had items.
	ErrWrongCount = errors.New("wrong number of rewards")
	// ErrNotFinite: a reward or component is NaN or ±Inf (use null for "no score").
	ErrNotFinite = errors.New("reward is not a finite number")
)

// Items converts samples to wire items (prompt, completion, metadata: the row's other columns).
func Items(samples []reward.Sample) []wire.Item {
	items := make([]wire.Item, len(samples))
	for i, s := range samples {
		items[i] = wire.Item{Prompt: s.Prompt, Completion: s.Completion, Metadata: s.Metadata}
	}
	return items
}

// Span is a half-open range [Start, End) of a batch's items.
type Span struct{ Start, End int }

// Split cuts n items into spans of at most size items. The boundaries depend only on n and size,
// never on how many workers score them, so a plugin sees the same calls whatever the pool size.
func Split(n, size int) []Span {
	if size <= 0 {
		size = n
	}
	var spans []Span
	for s := 0; s < n; s += size {
		spans = append(spans, Span{s, min(s+size, n)})
	}
	return spans
}

// Check validates one result against the n items it answers: no error field, exactly n rewards,
// components and info (when present) of length n, finite numbers.
func Check(res wire.Result, n int) error {
	if len(res.Rewards) != n {
		return fmt.Errorf("%w: got %d rewards for %d items", ErrWrongCount, len(res.Rewards), n)
	}
	if err := finite("rewards", res.Rewards); err != nil {
		return err
	}
	for name, vals := range res.Components {
		if len(vals) != n {
			return fmt.Errorf("%w: component %q has %d values for %d items", ErrWrongCount, name, len(vals), n)
		}
		if err := finite("component "+name, vals); err != nil {
			return err
		}
	}
	if res.Info != nil && len(res.Info) != n {
		return fmt.Errorf("%w: info has %d objects for %d items", ErrWrongCount, len(res.Info), n)
	}
	return nil
}

func finite(what string, vals []*float64) error {
	for i, v := range vals {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			return fmt.Errorf("%w: %s[%d] = %v", ErrNotFinite, what, i, *v)
		}
	}
	return nil
}

// Merge assembles the checked results of consecutive spans into the core's Scores. A null
// reward becomes NaN ("no score"); a component that some span did not report is NaN there.
func Merge(n int, spans []Span, results []wire.Result) reward.Scores {
	sc := reward.Scores{Values: make([]float64, n)}
	names := map[string]bool{}
	hasInfo := false
	for _, r := range results {
		for name := range r.Components {
			names[name] = true
		}
		hasInfo = hasInfo || r.Info != nil
	}
	if len(names) > 0 {
		sc.Components = make(map[string][]float64, len(names))
		for name := range names {
			vals := make([]float64, n)
			for i := range vals {
				vals[i] = math.NaN()
			}
			sc.Components[name] = vals
		}
	}
	if hasInfo {
		sc.Info = make([]map[string]any, n)
	}
	for k, sp := range spans {
		r := results[k]
		for i, v := range r.Rewards {
			sc.Values[sp.Start+i] = value(v)
		}
		for name, vals := range r.Components {
			for i, v := range vals {
				sc.Components[name][sp.Start+i] = value(v)
			}
		}
		if r.Info != nil {
			copy(sc.Info[sp.Start:sp.End], r.Info)
		}
	}
	return sc
}

func value(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}

// ComponentNames returns the sorted component names of s (for stable log output).
func ComponentNames(s reward.Scores) []string {
	names := make([]string, 0, len(s.Components))
	for n := range s.Components {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
