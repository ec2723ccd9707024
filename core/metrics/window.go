package metrics

import "math"

// Window averages metrics between two logging steps, as TRL's trainers do: each value added
// since the last Mean (one per optimizer step, or per micro-batch) counts once, and Mean returns
// the plain average and starts a new window. NaN values are skipped (TRL averages rewards with
// nanmean: NaN means "no score"); a metric whose values were all NaN averages to NaN.
type Window struct {
	sums   map[string]float64
	counts map[string]int
}

// Add records one value of a metric.
func (w *Window) Add(name string, v float64) {
	if w.sums == nil {
		w.sums, w.counts = map[string]float64{}, map[string]int{}
	}
	if _, ok := w.counts[name]; !ok {
		w.counts[name] = 0
	}
	if math.IsNaN(v) {
		return
	}
	w.sums[name] += v
	w.counts[name]++
}

// AddAll records one value of each metric in m.
func (w *Window) AddAll(m map[string]float64) {
	for k, v := range m {
		w.Add(k, v)
	}
}

// Mean returns each metric's average over the window and empties it.
func (w *Window) Mean() map[string]float64 {
	out := make(map[string]float64, len(w.counts))
	for k, n := range w.counts {
		if n == 0 {
			out[k] = math.NaN()
		} else {
			out[k] = w.sums[k] / float64(n)
		}
	}
	w.sums, w.counts = nil, nil
	return out
}
