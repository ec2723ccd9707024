package train

import (
	"context"
	"encoding/json"

	"github.com/gomlx/gomlx/core/graph"
	gm "github.com/gomlx/gomlx/ml/model"

	"github.com/grpo-dev/grpo/core/optim"
)

// Task is what a trainer plugs into the skeleton: the loss of one micro-batch and the work of
// one optimizer step. The skeleton owns the optimizer, the schedule, checkpoints and logging.
type Task interface {
	// Loss builds the loss of one micro-batch from the inputs given to MicroBatches.Run, as an
	// optim.LossFn: the scalar loss to minimise and extra outputs returned to the Task. It is
	// called once per distinct input shape.
	Loss(scope *gm.Scope, inputs []*graph.Node) (loss *graph.Node, outputs []*graph.Node)
	// Reduction says how the micro-batch gradients of one step combine: optim.Mean (each
	// micro-batch loss is a mean, as HF Trainer's gradient accumulation) or optim.Sum (each
	// micro-batch loss is already normalised by the whole step, e.g. a token mean over the
	// step's tokens).
	Reduction() optim.Reduction
	// StepsPerEpoch is the number of optimizer steps in one pass over the training data. With
	// max_steps = -1 training lasts ceil(num_train_epochs × StepsPerEpoch) steps; it also gives
	// the logged epoch and save_strategy = "epoch".
	StepsPerEpoch() int64
	// Step runs optimizer step number gs+1 (gs updates are already applied): it feeds each of the
	// step's micro-batches to mb.Run, the last one with last = true, and returns the step's
	// metrics. It must not return with micro-batches pending unless it returns an error. ctx is
	// cancelled only for a hard stop; a graceful stop waits for the step to end.
	Step(ctx context.Context, gs int64, mb *MicroBatches) (StepResult, error)
	// State is the task's resumable state after the last finished step: its data position and
	// its RNG states (either may be nil), written into checkpoints.
	State() (data, rng json.RawMessage, err error)
	// Restore returns the task to a state saved by State (resume_from_checkpoint). It is called
	// before the first Step; gs is the checkpoint's global step.
	Restore(gs int64, data, rng json.RawMessage) error
}

// StepResult is what one optimizer step reports.
type StepResult struct {
	// Metrics are averaged over the steps of a logging window (metrics.Window) and logged with
	// the skeleton's own (grad_norm, learning_rate, epoch). Names follow TRL ("loss", "reward",
	// "kl", ...); wall-clock values go under "timing/" so that runs can be compared without them.
	Metrics map[string]float64
	// Tokens is the number of (non-padding) input tokens the step trained on, summed into
	// num_input_tokens_seen.
	Tokens int64
}

// CheckpointExtra is implemented by tasks with state beyond the policy, the optimizer and
// State's JSON (e.g. GRPO's reference model): it is written into, and read back from, the
// checkpoint directory. Names must not clash with the policy's Hugging Face files or the
// checkpoint's own (use a subdirectory such as "ref_model/").
type CheckpointExtra interface {
	SaveCheckpoint(dir string) error
	LoadCheckpoint(dir string) error
}
