package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/backends/local"
	"github.com/grpo-dev/grpo/configs"
	"github.com/grpo-dev/grpo/core/accel"
	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/generate"
	"github.com/grpo-dev/grpo/core/model"
	"github.com/grpo-dev/grpo/core/reward"
	"github.com/grpo-dev/grpo/core/tokenizer"
	"github.com/grpo-dev/grpo/core/train"
	"github.com/grpo-dev/grpo/plugins"
	"github.com/grpo-dev/grpo/plugins/proc"
)

// runCmd is `grpo run`: GRPO training.
var runCmd = &cli.Command{
	Name:      "run",
	Usage:     "train a model with GRPO (without a run file: the embedded arithmetic demo)",
	ArgsUsage: "[RUN.toml] [key=value ...]",
	Description: `Trains model_name_or_path with Group Relative Policy Optimization (RLT's GRPOTrainer, a fork of
TRL's): prompts of dataset_id_or_path repeated num_generations times, completions sampled by the
generation backend, scored by every reward plugin, group-relative advantages, the loss of
loss_type with AdamW, checkpoints every save_steps (resume_from_checkpoint=latest), metrics to
output_dir/metrics.jsonl (and TensorBoard with report_to=["tensorboard"]).

Without a run file it trains the demo shipped inside grpo (configs/demo: a 0.8M-parameter Qwen2
that does arithmetic word problems) on the CPU, with the rewards given by --plugin (default
rewards/math.wasm), and prints the held-out accuracy before and after:

  grpo run
  grpo run --plugin rewards/math.wasm --plugin rewards/format.wasm reward_weights=[1.0,0.2]
  grpo run configs/run/teacher_rlt.toml --plugin rewards/teacher.wasm learning_rate=5e-7
  grpo run my_run.toml --backend ./my-generation-backend resume_from_checkpoint=latest

Backends: "local" (the GoMLX sampler, same device and weights as the policy), an executable
(a generation backend plugin), "vllm" (not in this build yet). GOMLX_BACKEND picks the device
("go" = CPU; "xla:/path/xla_cuda_plugin.so" = a CUDA GPU). Ctrl-C stops after the current step
with a checkpoint.`,
	Flags: append(append(configFlags(), pluginHostFlags()...),
		&cli.StringFlag{Name: "cpu-profile", Usage: "write a pprof CPU profile of the whole run to this file", TakesFile: true}),
	Action: runRun,
}

func init() { register(runCmd) }

// defaultPlugin is the reward of the embedded demo when --plugin is not given.
const defaultPlugin = "rewards/math.wasm"

func runRun(ctx context.Context, c *cli.Command) error {
	useSequentialGoBackend()
	if p := c.String("cpu-profile"); p != "" {
		stop, err := startCPUProfile(p)
		if err != nil {
			return err
		}
		defer stop()
	}
	runFile, overrides := splitRunFile(c.Args().Slice())
	for _, a := range overrides {
		if !strings.Contains(a, "=") {
			return fmt.Errorf("argument %q: expected key=value; the run file, if any, must come first", a)
		}
	}
	embedded := runFile == ""
	var root string
	if embedded {
		var err error
		if root, err = embeddedRoot(); err != nil {
			return err
		}
		runFile = filepath.Join(root, "configs", filepath.FromSlash(configs.DemoRun))
	}
	cfg, err := config.Composer{ConfigDirs: c.StringSlice("config-dir")}.Load(runFile, overrides...)
	if err != nil {
		return err
	}
	plugs := c.StringSlice("plugin")
	if embedded && len(plugs) == 0 && len(cfg.Rewards) == 0 {
		plugs = []string{defaultPlugin}
	}
	cfg.ApplyPluginFlags(plugs, c.String("backend"))
	if embedded {
		resolveEmbeddedPaths(cfg, root)
	} else if needsShippedPlugin(cfg) {
		if root, err = embeddedRoot(); err != nil {
			return err
		}
		resolveShippedPlugins(cfg, root)
	}
	if cfg.Origin("algorithm") == "" {
		cfg.Algorithm = "grpo"
	}
	if cfg.Algorithm != "grpo" {
		return fmt.Errorf("algorithm = %q (%s): grpo run trains with GRPO; use grpo sft for supervised fine-tuning", cfg.Algorithm, cfg.Origin("algorithm"))
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		slog.Warn(w)
	}
	logger := runLogger(cfg, c.Root().ErrWriter)
	slog.SetDefault(logger)

	policy, tok, err := loadPolicy(ctx, cfg)
	if err != nil {
		return err
	}
	examples, heldout, err := train.LoadPrompts(cfg, tok)
	if err != nil {
		return err
	}
	rewards, err := openRewards(ctx, c, cfg)
	if err != nil {
		return err
	}
	defer closeAll(rewards)
	gen, err := openGenerator(ctx, cfg, policy, tok)
	if err != nil {
		return err
	}
	defer gen.Close()
	task, err := train.NewGRPO(cfg, policy, tok, gen, rewards, examples, train.GRPOOptions{Logger: logger, Completions: c.Root().ErrWriter})
	if err != nil {
		return err
	}
	defer task.Close()
	ctx, stop, release := train.NotifyInterrupt(ctx)
	defer release()
	tr, err := train.New(cfg, policy, task, train.Options{Stop: stop, Progress: c.Root().Writer})
	if err != nil {
		return err
	}
	slog.Info("grpo run", "model", cfg.ModelNameOrPath, "parameters", policy.NumParameters(), "prompts", len(examples),
		"held_out", len(heldout), "rewards", len(rewards), "backend", cfg.Backend, "device", policy.Backend().Name(),
		"max_steps", tr.MaxSteps(), "output_dir", cfg.OutputDir)

	w := c.Root().Writer
	var before train.EvalResult
	if len(heldout) > 0 {
		if before, err = task.Evaluate(ctx, heldout); err != nil {
			return err
		}
		fmt.Fprintf(w, "held-out accuracy before training: %.1f%% (%d problems, greedy)\n", 100*before.Greedy, before.Prompts)
	}
	err = tr.Run(ctx)
	if errors.Is(err, train.ErrStopped) {
		fmt.Fprintf(c.Root().ErrWriter, "grpo run: stopped at step %d; continue with resume_from_checkpoint=latest\n", tr.GlobalStep())
		return nil
	}
	if err != nil {
		return err // a *train.RewardError names the checkpoint it saved
	}
	if len(heldout) > 0 {
		after, err := task.Evaluate(ctx, heldout)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "held-out accuracy: %.1f%% -> %.1f%%\n", 100*before.Greedy, 100*after.Greedy)
	}
	return nil
}

// useSequentialGoBackend makes GoMLX's pure-Go backend run the operations of a graph one after
// another (its ops_sequential option) unless GOMLX_BACKEND says otherwise. In its default mode it
// runs independent operations in parallel on a worker pool, and the parallel matrix
// multiplications of a training step can all wait for pool workers held by each other — a
// deadlock (compute v0.1.2, workerspool.Saturate called from pool workers). Sequential execution
// still parallelises inside each matrix multiplication, and measured faster on 2 cores.
func useSequentialGoBackend() {
	if cfg := accel.Config(); cfg == "go" {
		_ = os.Setenv(accel.EnvVar, "go:ops_sequential")
	}
}

// runLogger logs to stderr, at debug level with activate_debugging_logs.
func runLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if cfg.ActivateDebuggingLogs {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// needsShippedPlugin reports a reward plugin written as rewards/NAME.wasm that is missing from
// the working directory (resolveShippedPlugins then uses the embedded copy).
func needsShippedPlugin(cfg *config.Config) bool {
	for _, r := range cfg.Rewards {
		p := filepath.ToSlash(r.Plugin)
		if strings.HasPrefix(p, "rewards/") && strings.HasSuffix(p, ".wasm") {
			if _, err := os.Stat(r.Plugin); err != nil {
				return true
			}
		}
	}
	return false
}

// openRewards opens the configured reward plugins with the plugin host settings.
func openRewards(ctx context.Context, c *cli.Command, cfg *config.Config) ([]reward.Reward, error) {
	if len(cfg.Rewards) == 0 {
		return nil, errors.New("no reward plugin: add [[rewards]] to the run file or pass --plugin FILE.wasm (or builtin:NAME, or an executable)")
	}
	opts, err := pluginOptions(c, cfg)
	if err != nil {
		return nil, err
	}
	specs := make([]plugins.Spec, len(cfg.Rewards))
	for i, r := range cfg.Rewards {
		specs[i] = plugins.Spec{Plugin: r.Plugin, Settings: r.Settings}
	}
	return plugins.OpenRewards(ctx, specs, opts)
}

// openGenerator opens the generation backend: "local" → the GoMLX sampler on the policy itself;
// an executable → a generation backend plugin process; "vllm" → not in this build.
func openGenerator(ctx context.Context, cfg *config.Config, policy *model.Model, tok *tokenizer.Tokenizer) (generate.Generator, error) {
	switch b := cfg.Backend; b {
	case "", "local":
		return local.New(policy, tok, local.Options{})
	case "vllm":
		return nil, errors.New(`backend = "vllm": the vLLM backend is not in this build of grpo yet (it is a later issue); use backend = "local" or a generation backend plugin executable`)
	default:
		return proc.OpenGenerator(ctx, b, cfg.BackendSettings, proc.Options{})
	}
}

// startCPUProfile starts a pprof CPU profile written to path; stop ends it.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func closeAll(rs []reward.Reward) {
	for _, r := range rs {
		_ = r.Close()
	}
}
