package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/grpo-dev/grpo/core/checkpoint"
	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/metrics"
	"github.com/grpo-dev/grpo/core/model"
	"github.com/grpo-dev/grpo/core/optim"
)

// ErrStopped is returned by Run when a stop was requested (Options.Stop, the first Ctrl-C):
// training ended after a finished step, with a checkpoint saved there.
var ErrStopped = errors.New("training stopped on request")

// Options are the skeleton's settings that do not come from the configuration.
type Options struct {
	// Stop, when closed, ends training gracefully: the current step finishes, a checkpoint is
	// saved, and Run returns ErrStopped. See NotifyInterrupt.
	Stop <-chan struct{}
	// Progress receives the progress bar or lines (nil = os.Stdout).
	Progress io.Writer
	// MaxCompiledShapes raises the number of compiled graphs kept per input shape (GoMLX keeps
	// 32); a task with many shapes sets it. 0 keeps the default.
	MaxCompiledShapes int
}

// Trainer is the training skeleton shared by grpo's trainers (see the package doc).
type Trainer struct {
	cfg    *config.Config
	policy *model.Model
	task   Task
	opts   Options

	opt      *optim.AdamW
	step     *optim.Step
	sched    *optim.Schedule
	maxSteps int64
	spe      int64 // steps per epoch

	// Filled by Run.
	globalStep int64
	tokensSeen int64
}

// New builds the optimizer and the schedule for policy and task from cfg.
func New(cfg *config.Config, policy *model.Model, task Task, opts Options) (*Trainer, error) {
	if cfg == nil || policy == nil || task == nil {
		return nil, fmt.Errorf("train.New: config, policy and task are required")
	}
	spe := task.StepsPerEpoch()
	if spe < 1 {
		return nil, fmt.Errorf("train: the training data gives %d optimizer steps per epoch; it needs at least one", spe)
	}
	maxSteps, err := trainingSteps(cfg, spe)
	if err != nil {
		return nil, err
	}
	oc := optim.Config{Beta1: cfg.AdamBeta1, Beta2: cfg.AdamBeta2, Epsilon: cfg.AdamEpsilon,
		WeightDecay: cfg.WeightDecay, MaxGradNorm: cfg.MaxGradNorm, Reduction: task.Reduction()}
	opt, err := optim.New(policy.Store, oc)
	if err != nil {
		return nil, err
	}
	step, err := opt.NewStep(policy.Backend(), task.Loss)
	if err != nil {
		return nil, err
	}
	if opts.MaxCompiledShapes != 0 {
		step.SetMaxCache(opts.MaxCompiledShapes)
	}
	warm, err := optim.WarmupSteps(int(maxSteps), cfg.WarmupSteps, cfg.WarmupRatio)
	if err != nil {
		return nil, err
	}
	sched, err := optim.NewSchedule(optim.ScheduleConfig{Type: cfg.LRSchedulerType, LearningRate: cfg.LearningRate,
		NumTrainingSteps: int(maxSteps), WarmupSteps: warm, Kwargs: cfg.LRSchedulerKwargs})
	if err != nil {
		return nil, err
	}
	return &Trainer{cfg: cfg, policy: policy, task: task, opts: opts, opt: opt, step: step, sched: sched,
		maxSteps: maxSteps, spe: spe}, nil
}

// trainingSteps is HF Trainer's max_steps: max_steps when > 0, else
// ceil(num_train_epochs × steps per epoch).
func trainingSteps(cfg *config.Config, spe int64) (int64, error) {
	if cfg.MaxSteps > 0 {
		return int64(cfg.MaxSteps), nil
	}
	if !(cfg.NumTrainEpochs > 0) {
		return 0, fmt.Errorf("max_steps = %d and num_train_epochs = %g: set max_steps > 0 or num_train_epochs > 0", cfg.MaxSteps, cfg.NumTrainEpochs)
	}
	return int64(math.Ceil(cfg.NumTrainEpochs * float64(spe))), nil
}

// MaxSteps is the number of optimizer steps the run will have made when it ends.
func (t *Trainer) MaxSteps() int64 { return t.maxSteps }

// StepsPerEpoch is the task's optimizer steps per pass over the data.
func (t *Trainer) StepsPerEpoch() int64 { return t.spe }

// GlobalStep is the number of optimizer steps applied so far.
func (t *Trainer) GlobalStep() int64 { return t.globalStep }

// LR is the learning rate of update gs (0-based), as the schedule gives it.
func (t *Trainer) LR(gs int64) float64 { return t.sched.LR(gs) }

// Run trains from scratch or from resume_from_checkpoint up to MaxSteps, then saves the final
// model (save_final_model). A closed Options.Stop ends it early with a checkpoint and
// ErrStopped; a cancelled ctx ends it at once, losing the work since the last checkpoint.
func (t *Trainer) Run(ctx context.Context) error {
	cfg := t.cfg
	resumedFrom, ck, err := t.resume()
	if err != nil {
		return err
	}
	if resumedFrom == "" {
		warnOldCheckpoints(cfg.OutputDir)
	}
	start := t.globalStep
	var history []map[string]any
	if ck != nil {
		history = ck.Trainer.LogHistory
	}
	logger, err := metrics.Open(metrics.Config{OutputDir: cfg.OutputDir, ReportTo: cfg.ReportTo, MaxSteps: t.maxSteps,
		ResumeStep: start, History: history, Progress: t.opts.Progress})
	if err != nil {
		return err
	}
	defer logger.Close()
	if start == 0 {
		if toml, err := t.configTOML(); err == nil {
			_ = logger.Text(0, "run_config", "```toml\n"+string(toml)+"```")
		}
	}
	saver := &checkpoint.Manager{OutputDir: cfg.OutputDir, ResumedFrom: resumedFrom}
	if cfg.SaveTotalLimit != nil {
		saver.SaveTotalLimit = *cfg.SaveTotalLimit
	}
	slog.Info("training", "max_steps", t.maxSteps, "steps_per_epoch", t.spe, "start_step", start,
		"gradient_accumulation", cfg.GradientAccumulation(), "output_dir", cfg.OutputDir)

	var window metrics.Window
	lastSaved := int64(-1)
	if resumedFrom != "" {
		lastSaved = start
	}
	save := func() error {
		if lastSaved == t.globalStep {
			return nil
		}
		if err := t.save(saver, logger); err != nil {
			return err
		}
		lastSaved = t.globalStep
		return nil
	}
	began := time.Now()
	for t.globalStep < t.maxSteps {
		if t.stopRequested() {
			if err := save(); err != nil {
				return err
			}
			slog.Info("stopped on request", "global_step", t.globalStep, "resume_with", "resume_from_checkpoint=latest")
			return ErrStopped
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("training cancelled at step %d (last checkpoint: step %d): %w", t.globalStep, max(lastSaved, 0), err)
		}
		gs := t.globalStep
		t0 := time.Now()
		mb := &MicroBatches{step: t.step, lr: t.sched.LR(gs)}
		res, err := t.task.Step(ctx, gs, mb)
		if err != nil {
			return t.stepFailed(gs, mb, err, save) // stepfailure.go
		}
		st, err := mb.finish()
		if err != nil {
			return fmt.Errorf("step %d: %w", gs+1, err)
		}
		t.globalStep = st.Step
		t.tokensSeen += res.Tokens
		elapsed := time.Since(t0).Seconds()
		window.AddAll(res.Metrics)
		window.Add("grad_norm", st.GradNorm)
		window.Add("timing/step_s", elapsed)
		if elapsed > 0 && res.Tokens > 0 {
			window.Add("timing/tokens_per_s", float64(res.Tokens)/elapsed)
		}
		logger.Advance(t.globalStep)
		if t.globalStep%int64(max(cfg.LoggingSteps, 1)) == 0 || t.globalStep == t.maxSteps {
			m := window.Mean()
			m["learning_rate"] = t.sched.LR(t.globalStep) // HF logs the rate after stepping the scheduler
			m["epoch"] = t.epoch()
			m["num_input_tokens_seen"] = float64(t.tokensSeen)
			if err := logger.Log(t.globalStep, m); err != nil {
				return err
			}
		}
		if t.shouldSave() {
			if err := save(); err != nil {
				return err
			}
		}
	}
	slog.Info("training finished", "global_step", t.globalStep, "runtime", time.Since(began).Round(time.Millisecond),
		"steps_per_second", float64(t.globalStep-start)/time.Since(began).Seconds())
	if cfg.SaveFinalModel {
		if err := t.policy.Save(cfg.OutputDir, model.SaveOptions{}); err != nil {
			return fmt.Errorf("saving the final model to output_dir %s: %w", cfg.OutputDir, err)
		}
		slog.Info("final model saved", "dir", cfg.OutputDir)
	}
	return nil
}

// shouldSave applies save_strategy after a step: every save_steps ("steps"), at each epoch's
// end ("epoch"), and at the last step unless save_strategy is "no" (as HF's DefaultFlowCallback).
func (t *Trainer) shouldSave() bool {
	gs := t.globalStep
	switch t.cfg.SaveStrategy {
	case "no":
		return false
	case "epoch":
		return gs%t.spe == 0 || gs == t.maxSteps
	default:
		return (t.cfg.SaveSteps > 0 && gs%int64(t.cfg.SaveSteps) == 0) || gs == t.maxSteps
	}
}

// epoch is the fractional epoch after GlobalStep steps, as HF's TrainerState.epoch.
func (t *Trainer) epoch() float64 { return float64(t.globalStep) / float64(t.spe) }

func (t *Trainer) stopRequested() bool {
	if t.opts.Stop == nil {
		return false
	}
	select {
	case <-t.opts.Stop:
		return true
	default:
		return false
	}
}

// warnOldCheckpoints tells the user that a fresh run writes into an output_dir that already
// holds checkpoints (they stay until save_total_limit rotates them).
func warnOldCheckpoints(dir string) {
	if _, err := os.Stat(dir); err != nil {
		return
	}
	if all, err := checkpoint.List(dir); err == nil && len(all) > 0 {
		slog.Warn("output_dir already holds checkpoints; starting fresh (metrics.jsonl restarts). "+
			"Set resume_from_checkpoint=latest to continue that run instead",
			"output_dir", dir, "latest", all[len(all)-1].Dir)
	}
}
