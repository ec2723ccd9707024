package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/grpo-dev/grpo/core/checkpoint"
	"github.com/grpo-dev/grpo/core/metrics"
	"github.com/grpo-dev/grpo/core/model"
	"github.com/grpo-dev/grpo/core/optim"
)

// resumeArg turns resume_from_checkpoint into checkpoint.Resolve's argument ("latest", a
// directory, or "" for a fresh start).
func (t *Trainer) resumeArg() string {
	if t.cfg.ResumeFromCheckpoint == nil {
		return ""
	}
	return *t.cfg.ResumeFromCheckpoint
}

// resume loads resume_from_checkpoint, if set: the policy's weights (from the checkpoint's
// Hugging Face files, computed with the same options as the running policy), the optimizer
// state, the task's data position and RNG, the global step and tokens seen. It returns the
// checkpoint directory ("" for a fresh start).
func (t *Trainer) resume() (string, *checkpoint.Checkpoint, error) {
	dir, err := checkpoint.Resolve(t.cfg.OutputDir, t.resumeArg())
	if err != nil || dir == "" {
		return "", nil, err
	}
	ck, err := checkpoint.Load(dir)
	if err != nil {
		return "", nil, err
	}
	saved, err := model.LoadDir(dir, t.policy.Options())
	if err != nil {
		return "", nil, fmt.Errorf("resume_from_checkpoint %s: loading the model: %w", dir, err)
	}
	if err := t.policy.CopyWeightsFrom(saved); err != nil {
		return "", nil, fmt.Errorf("resume_from_checkpoint %s: the checkpoint's model does not match model_name_or_path: %w", dir, err)
	}
	var st optim.State
	if err := json.Unmarshal(ck.Optimizer.Meta, &st); err != nil {
		return "", nil, fmt.Errorf("resume_from_checkpoint %s: optimizer state: %w", dir, err)
	}
	st.Tensors = ck.Optimizer.Tensors
	if err := t.opt.Restore(st); err != nil {
		return "", nil, fmt.Errorf("resume_from_checkpoint %s: %w", dir, err)
	}
	if st.Step != ck.Trainer.GlobalStep {
		return "", nil, fmt.Errorf("resume_from_checkpoint %s: optimizer state is at step %d but trainer_state.json at %d", dir, st.Step, ck.Trainer.GlobalStep)
	}
	if ck.Trainer.MaxSteps != 0 && ck.Trainer.MaxSteps != t.maxSteps {
		slog.Warn("resuming with a different length of training: the learning-rate schedule changes from here on",
			"checkpoint_max_steps", ck.Trainer.MaxSteps, "max_steps", t.maxSteps)
	}
	if err := t.task.Restore(ck.Trainer.GlobalStep, ck.Data, ck.RNG); err != nil {
		return "", nil, fmt.Errorf("resume_from_checkpoint %s: %w", dir, err)
	}
	if x, ok := t.task.(CheckpointExtra); ok {
		if err := x.LoadCheckpoint(dir); err != nil {
			return "", nil, fmt.Errorf("resume_from_checkpoint %s: %w", dir, err)
		}
	}
	t.globalStep = ck.Trainer.GlobalStep
	t.tokensSeen = ck.Trainer.NumInputTokensSeen
	slog.Info("resumed", "checkpoint", dir, "global_step", t.globalStep)
	return dir, ck, nil
}

// save writes a checkpoint of the current state.
func (t *Trainer) save(saver *checkpoint.Manager, logger *metrics.Logger) error {
	ost, err := t.opt.State()
	if err != nil {
		return err
	}
	meta, err := json.Marshal(ost)
	if err != nil {
		return err
	}
	data, rng, err := t.task.State()
	if err != nil {
		return fmt.Errorf("checkpoint: task state: %w", err)
	}
	toml, err := t.configTOML()
	if err != nil {
		return err
	}
	cfg := t.cfg
	_, err = saver.Save(checkpoint.State{
		Trainer: checkpoint.TrainerState{
			GlobalStep: t.globalStep, Epoch: t.epoch(), MaxSteps: t.maxSteps, NumTrainEpochs: cfg.NumTrainEpochs,
			LoggingSteps: int64(cfg.LoggingSteps), SaveSteps: int64(cfg.SaveSteps),
			TrainBatchSize: int64(cfg.PerDeviceTrainBatchSize), NumInputTokensSeen: t.tokensSeen,
			IsLocalProcessZero: true, IsWorldProcessZero: true, LogHistory: logger.History(),
		},
		SaveModel: func(dir string) error {
			// float32, whatever torch_dtype says: the master weights must come back bit for bit.
			if err := t.policy.Save(dir, model.SaveOptions{DType: "float32"}); err != nil {
				return err
			}
			if x, ok := t.task.(CheckpointExtra); ok {
				return x.SaveCheckpoint(dir)
			}
			return nil
		},
		Optimizer: checkpoint.OptimizerState{Meta: meta, Tensors: ost.Tensors},
		RNG:       rng,
		Data:      data,
		Config:    toml,
	})
	return err
}

// configTOML is the resolved configuration, as `grpo config print` writes it without docs.
func (t *Trainer) configTOML() ([]byte, error) {
	var b bytes.Buffer
	if err := t.cfg.WriteTOMLValues(&b); err != nil {
		return nil, fmt.Errorf("writing the resolved configuration: %w", err)
	}
	return b.Bytes(), nil
}
