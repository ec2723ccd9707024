package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gomlx/compute/dtypes"
	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/core/accel"
	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/model"
	"github.com/grpo-dev/grpo/core/tokenizer"
	"github.com/grpo-dev/grpo/core/train"
)

// sftCmd is `grpo sft`: supervised fine-tuning (RLT's teacher warm-up, the demo model).
var sftCmd = &cli.Command{
	Name:      "sft",
	Usage:     "supervised fine-tuning (cross-entropy on completions), e.g. RLT's teacher warm-up",
	ArgsUsage: "[RUN.toml] [key=value ...]",
	Description: `Trains model_name_or_path on dataset_id_or_path with the cross-entropy of the target
tokens: the completion (with completion_only_training; the explanation for RLT's teacher
format) or every token. Data formats: prompt + completion_column (text or chat messages),
question_column + completion_column (rendered with the chat template when the tokenizer has
one), dataset_format = "rlt_teacher" (question, solution, reasoning_trace → the teacher chat)
and "stratos". Checkpoints, resume_from_checkpoint, metrics and the final model in Hugging Face
layout work as for grpo run. Ctrl-C stops after the current step with a checkpoint.

  grpo sft configs/run/teacher_sft.toml
  grpo sft configs/demo/sft.toml output_dir=/tmp/demo max_steps=100`,
	Flags: []cli.Flag{
		&cli.StringSliceFlag{Name: "config-dir", Usage: "a config root searched first for group files (repeatable)", Sources: cli.EnvVars("GRPO_CONFIG_DIR"), TakesFile: true},
	},
	Action: runSFT,
}

func init() { register(sftCmd) }

func runSFT(ctx context.Context, c *cli.Command) error {
	cfg, err := sftConfig(c.StringSlice("config-dir"), c.Args().Slice())
	if err != nil {
		return err
	}
	policy, tok, err := loadPolicy(ctx, cfg)
	if err != nil {
		return err
	}
	examples, err := train.LoadSFTExamples(cfg, tok)
	if err != nil {
		return err
	}
	eos := int32(-1)
	if ids := tok.EOS(); len(ids) > 0 {
		eos = ids[0]
	}
	task, err := train.NewSFT(cfg, policy, tok, eos, tok.PadID(), examples)
	if err != nil {
		return err
	}
	ctx, stop, release := train.NotifyInterrupt(ctx)
	defer release()
	tr, err := train.New(cfg, policy, task, train.Options{Stop: stop, Progress: c.Root().Writer})
	if err != nil {
		return err
	}
	slog.Info("sft", "model", cfg.ModelNameOrPath, "parameters", policy.NumParameters(), "examples", len(examples),
		"sequences", task.Sequences(), "max_steps", tr.MaxSteps(), "buckets", task.Buckets())
	err = tr.Run(ctx)
	if errors.Is(err, train.ErrStopped) {
		fmt.Fprintf(c.Root().ErrWriter, "grpo sft: stopped at step %d; continue with resume_from_checkpoint=latest\n", tr.GlobalStep())
		return nil
	}
	return err
}

// sftConfig composes the configuration; algorithm defaults to "sft" here (a run file or
// override naming "grpo" is refused).
func sftConfig(configDirs, args []string) (*config.Config, error) {
	runFile, overrides := splitRunFile(args)
	cfg, err := config.Composer{ConfigDirs: configDirs}.Load(runFile, overrides...)
	if err != nil {
		return nil, err
	}
	if cfg.Origin("algorithm") == "" {
		cfg.Algorithm = "sft"
	}
	if cfg.Algorithm != "sft" {
		return nil, fmt.Errorf("algorithm = %q (%s): grpo sft trains with algorithm \"sft\"; use grpo run for GRPO", cfg.Algorithm, cfg.Origin("algorithm"))
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// loadPolicy loads model_name_or_path with model_init_kwargs, gradient_checkpointing, bf16
// (bfloat16 compute over float32 master weights, unless torch_dtype says otherwise) and
// gomlx_backend, and the tokenizer of its directory.
func loadPolicy(ctx context.Context, cfg *config.Config) (*model.Model, *tokenizer.Tokenizer, error) {
	if cfg.ModelNameOrPath == "" {
		return nil, nil, errors.New("model_name_or_path is empty: set it in the run file or as model_name_or_path=DIR")
	}
	opts, err := model.ParseInitKwargs(cfg.ModelInitKwargs)
	if err != nil {
		return nil, nil, err
	}
	opts.GradientCheckpointing = cfg.GradientCheckpointing
	if cfg.BF16 && opts.DType == dtypes.InvalidDType {
		opts.DType = dtypes.BFloat16
	}
	if cfg.GoMLXBackend != "" {
		if opts.Backend, err = accel.New(cfg.GoMLXBackend); err != nil {
			return nil, nil, fmt.Errorf("gomlx_backend: %w", err)
		}
	}
	policy, err := model.Load(ctx, cfg.ModelNameOrPath, opts)
	if err != nil {
		return nil, nil, err
	}
	tok, err := tokenizer.Load(policy.Dir)
	if err != nil {
		return nil, nil, err
	}
	return policy, tok, nil
}
