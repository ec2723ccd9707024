package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/backends/local"
	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/tokenizer"
	"github.com/grpo-dev/grpo/core/train"
)

// evalCmd is `grpo eval`: held-out accuracy and pass@k of a model with reward plugins.
var evalCmd = &cli.Command{
	Name:      "eval",
	Usage:     "measure greedy accuracy and pass@k on a dataset split with reward plugins",
	ArgsUsage: "[RUN.toml] [key=value ...]",
	Description: `Builds the prompts of a split of dataset_id_or_path as training does (dataset_format,
question_column, prompt_template, chat template), generates with the local sampler once
greedily and --k times at --temperature, scores every completion with the reward plugins
([[rewards]] and --plugin; the row's other columns are their metadata) and prints the greedy
accuracy (total reward ≥ --threshold), pass@k and the sampled accuracy.

  grpo eval configs/demo/sft.toml --plugin rewards/math.wasm --split test --k 8`,
	Flags: append([]cli.Flag{
		&cli.StringSliceFlag{Name: "plugin", Usage: "reward plugin: FILE.wasm, builtin:NAME or an executable (repeatable; adds to the run file's rewards)"},
		&cli.StringFlag{Name: "split", Usage: "split expression (default: val_split, else \"test\")"},
		&cli.StringFlag{Name: "model", Usage: "model directory (default: model_name_or_path)"},
		&cli.IntFlag{Name: "k", Value: 8, Usage: "samples per prompt for pass@k (0: greedy only)"},
		&cli.FloatFlag{Name: "temperature", Value: 1.0, Usage: "sampling temperature of the k samples"},
		&cli.FloatFlag{Name: "threshold", Value: 1.0, Usage: "total reward that counts as solved"},
		&cli.IntFlag{Name: "limit", Usage: "evaluate only the first N rows (0: all)"},
		&cli.IntFlag{Name: "max-batch", Value: 256, Usage: "completion rows decoded together"},
		&cli.BoolFlag{Name: "json", Usage: "print the result as one JSON object"},
		&cli.StringSliceFlag{Name: "config-dir", Usage: "a config root searched first for group files (repeatable)", Sources: cli.EnvVars("GRPO_CONFIG_DIR"), TakesFile: true},
	}, pluginHostFlags()...),
	Action: runEval,
}

func init() { register(evalCmd) }

func runEval(ctx context.Context, c *cli.Command) error {
	runFile, overrides := splitRunFile(c.Args().Slice())
	cfg, err := config.Composer{ConfigDirs: c.StringSlice("config-dir")}.Load(runFile, overrides...)
	if err != nil {
		return err
	}
	cfg.ApplyPluginFlags(c.StringSlice("plugin"), "")
	if len(cfg.Rewards) == 0 {
		return fmt.Errorf("no reward plugin: give --plugin FILE.wasm (or a run file with [[rewards]])")
	}
	if m := c.String("model"); m != "" {
		cfg.ModelNameOrPath = m
	}
	policy, tok, err := loadPolicy(ctx, cfg)
	if err != nil {
		return err
	}
	examples, split, err := evalExamples(cfg, tok, c.String("split"), int(c.Int("limit")))
	if err != nil {
		return err
	}
	rewards, err := openRewards(ctx, c, cfg)
	if err != nil {
		return err
	}
	defer closeAll(rewards)
	gen, err := local.New(policy, tok, local.Options{MaxBatch: int(c.Int("max-batch"))})
	if err != nil {
		return err
	}
	defer gen.Close()
	start := time.Now()
	res, err := train.Evaluate(ctx, gen, examples, rewards, cfg.RewardWeightsOrOnes(), train.EvalConfig{
		MaxTokens: cfg.MaxCompletionLength, MaxPromptTokens: cfg.MaxPromptLength, K: int(c.Int("k")),
		Temperature: c.Float("temperature"), Seed: cfg.Seed, Threshold: c.Float("threshold")})
	if err != nil {
		return err
	}
	w := c.Root().Writer
	if c.Bool("json") {
		b, err := json.Marshal(map[string]any{"model": cfg.ModelNameOrPath, "split": split, "prompts": res.Prompts,
			"greedy_accuracy": res.Greedy, "greedy_reward": res.GreedyReward, "greedy_tokens": res.GreedyTokens,
			"k": c.Int("k"), "temperature": c.Float("temperature"), "pass_at_k": jsonNumber(res.PassAtK),
			"sampled_accuracy": jsonNumber(res.Sampled), "unscored": res.Unscored, "seconds": time.Since(start).Seconds()})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	}
	fmt.Fprintf(w, "%s on %s (%d prompts, %.0fs):\n", cfg.ModelNameOrPath, split, res.Prompts, time.Since(start).Seconds())
	fmt.Fprintf(w, "  greedy accuracy: %.1f%% (mean reward %.3f, %.1f tokens per completion)\n", 100*res.Greedy, res.GreedyReward, res.GreedyTokens)
	if c.Int("k") > 0 {
		fmt.Fprintf(w, "  pass@%d at temperature %g: %.1f%%; sampled accuracy %.1f%%\n", c.Int("k"), c.Float("temperature"), 100*res.PassAtK, 100*res.Sampled)
	}
	if res.Unscored > 0 {
		fmt.Fprintf(w, "  %d completions were not scored by any reward (counted as 0)\n", res.Unscored)
	}
	return nil
}

// evalExamples builds the prompts of the evaluation split: --split, else val_split, else "test".
func evalExamples(cfg *config.Config, tok *tokenizer.Tokenizer, split string, limit int) ([]data.Example, string, error) {
	sc, pc := train.DataSettings(cfg)
	if split == "" {
		split = sc.ValSplit
	}
	if split == "" {
		split = "test"
	}
	src, err := data.Open(sc.DatasetIDOrPath)
	if err != nil {
		return nil, "", err
	}
	ds, err := src.Load(split)
	if err != nil {
		return nil, "", fmt.Errorf("evaluation split: %w", err)
	}
	b, err := data.NewBuilder(pc, train.ChatFormatter(cfg, tok))
	if err != nil {
		return nil, "", err
	}
	ex, err := b.Prompts(ds)
	if err != nil {
		return nil, "", err
	}
	if limit > 0 && limit < len(ex) {
		ex = ex[:limit]
	}
	return ex, split, nil
}
