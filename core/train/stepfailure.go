package train

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/grpo-dev/grpo/core/checkpoint"
)

// CheckpointedFailure is implemented by errors a Task's Step returns to stop training with a
// checkpoint of the state before the failed step, so that no finished work is lost (GRPO's
// reward_failure = "error": a reward plugin failed). Step must have run no micro-batch yet, and
// the Task's State must return its state from before the step.
type CheckpointedFailure interface {
	error
	// SetCheckpoint is told the checkpoint directory that was saved.
	SetCheckpoint(dir string)
}

// stepFailed handles a Task's Step error: a CheckpointedFailure gets a checkpoint of global step
// gs (the last finished one) before training stops; any error is returned naming the step.
func (t *Trainer) stepFailed(gs int64, mb *MicroBatches, err error, save func() error) error {
	var cf CheckpointedFailure
	if errors.As(err, &cf) && mb.Count() == 0 {
		if serr := save(); serr != nil {
			return fmt.Errorf("step %d: %w (saving a checkpoint also failed: %v)", gs+1, err, serr)
		}
		cf.SetCheckpoint(filepath.Join(t.cfg.OutputDir, checkpoint.DirPrefix+strconv.FormatInt(gs, 10)))
	}
	return fmt.Errorf("step %d: %w", gs+1, err)
}
