package train

import (
	"fmt"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/grpo-dev/grpo/core/optim"
)

// MicroBatches runs the forward and backward passes of one optimizer step's micro-batches. A
// Task's Step gets one per step from the skeleton.
//
// A step of several micro-batches accumulates their gradients (optim.Step.Accumulate) and the
// skeleton applies the update afterwards. A step of a single micro-batch (the first Run is
// already the last) runs forward, backward and update in one graph (optim.Step.Update), which
// needs no gradient accumulators.
type MicroBatches struct {
	step  *optim.Step
	lr    float64
	n     int  // micro-batches run in this step
	done  bool // the last micro-batch was run
	stats optim.Stats
	upd   bool // the update already happened (single micro-batch path)
}

// Run computes one micro-batch's loss and gradients. inputs are given to the Task's Loss; last
// marks the step's final micro-batch. It returns the micro-batch loss and the Loss's extra
// outputs.
func (m *MicroBatches) Run(last bool, inputs ...any) (loss float64, outputs []*tensors.Tensor, err error) {
	if m.done {
		return 0, nil, fmt.Errorf("train: micro-batch run after the step's last one")
	}
	m.n++
	if last && m.n == 1 {
		loss, outputs, m.stats, err = m.step.Update(m.lr, inputs...)
		m.upd, m.done = err == nil, true
		return loss, outputs, err
	}
	loss, outputs, err = m.step.Accumulate(inputs...)
	m.done = last
	return loss, outputs, err
}

// Count is the number of micro-batches run so far in this step.
func (m *MicroBatches) Count() int { return m.n }

// finish applies the accumulated update (unless the single-micro-batch path already did).
func (m *MicroBatches) finish() (optim.Stats, error) {
	if !m.done {
		return optim.Stats{}, fmt.Errorf("train: the step ended after %d micro-batches without one marked last", m.n)
	}
	if m.upd {
		return m.stats, nil
	}
	return m.step.Apply(m.lr)
}
