package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/core/accel"
	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/plugins/builtin"
)

// configCmd is `grpo config`: print or check a configuration without running anything.
var configCmd = &cli.Command{
	Name:  "config",
	Usage: "print or check a run configuration (TOML files + key=value overrides)",
	Description: `A configuration is composed like SakanaAI RLT's Hydra tree, later layers winning:

   defaults < trainer < model < data < distributed < RUN.toml < key=value overrides

A run file (configs/run/*.toml) selects group files with trainer = "grpo", model =
"qwen2.5-7b-instruct", data = "bespoke_stratos", distributed = "zero3", found as
configs/<group>/<name>.toml: under --config-dir, then in the folder above the run file's
own (configs/run/x.toml finds configs/model/), then under ./configs.

Overrides use TOML value syntax and win over every file:
   temperature=0.8   reward_weights=[1.0,0.5]   model_init_kwargs={torch_dtype="bfloat16"}
A key that takes a string also takes a bare word (model_name_or_path=Qwen/Qwen2.5-7B),
key=null unsets a key, model=NAME switches a group, and dotted keys reach into tables
(model_init_kwargs.torch_dtype=bfloat16).

Environment: HF_TOKEN (gated Hub models), HF_HOME or TRANSFORMERS_CACHE (where models are
found), CUDA_VISIBLE_DEVICES (which GPUs), GOMLX_BACKEND ("go", or "xla:/path/to/
xla_cuda_plugin.so"; the gomlx_backend key wins over it), and GRPO_PLUGINS, GRPO_BACKEND,
GRPO_CONFIG_DIR for the flags below.`,
	Commands: []*cli.Command{
		{
			Name:      "print",
			Usage:     "print the fully resolved configuration as TOML, every key with its documentation",
			ArgsUsage: "[RUN.toml] [key=value ...]",
			Description: `Prints every key: defaults included, unset (None) keys as "# key = null", and after each
value that did not come from the defaults the file and line (or override) that set it.
The output is itself a run file: saving it and loading it gives the same configuration.

   grpo config print                                   # all keys with their defaults
   grpo config print configs/run/teacher_rlt.toml learning_rate=5e-6 num_generations=16
   grpo config print configs/run/teacher_rlt.toml model=llama3-70b --brief`,
			Flags: append(configFlags(), &cli.BoolFlag{
				Name:  "brief",
				Usage: "leave out the documentation comments",
			}),
			Action: printConfig,
		},
		{
			Name:      "validate",
			Usage:     "check a configuration and explain every problem at once (exit 1 if any)",
			ArgsUsage: "[RUN.toml] [key=value ...]",
			Description: `Checks the files, the overrides and every rule: types, ranges, the batch arithmetic
(num_generations must divide the global batch, ...), reward_weights against the reward
plugins, template variables, plugin paths. Prints warnings for settings that are allowed
but have no effect, then a summary of the batch geometry.

   grpo config validate configs/run/teacher_rlt.toml
   grpo config validate configs/run/teacher_rlt.toml --plugin rewards/math/math.wasm reward_weights=[1.0,0.5]`,
			Flags:  configFlags(),
			Action: validateConfig,
		},
	},
}

func init() { register(configCmd) }

// configFlags are the flags of every command that loads a configuration.
func configFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{
			Name:    "plugin",
			Usage:   "add a reward plugin after those of the configuration: a .wasm file, an executable, or builtin:NAME (repeatable)",
			Sources: cli.EnvVars("GRPO_PLUGINS"),
		},
		&cli.StringFlag{
			Name:    "backend",
			Usage:   `replace the generation backend: "local", "vllm", or a backend plugin executable`,
			Sources: cli.EnvVars("GRPO_BACKEND"),
		},
		&cli.StringSliceFlag{
			Name:      "config-dir",
			Usage:     "a config root searched first for trainer/, model/, data/ and distributed/ files (repeatable)",
			Sources:   cli.EnvVars("GRPO_CONFIG_DIR"),
			TakesFile: true,
		},
	}
}

// loadConfig composes the configuration named by the command's arguments and flags.
func loadConfig(cmd *cli.Command) (*config.Config, string, error) {
	args := cmd.Args().Slice()
	runFile := ""
	if len(args) > 0 && !strings.Contains(args[0], "=") {
		runFile, args = args[0], args[1:]
	}
	for _, a := range args {
		if !strings.Contains(a, "=") {
			return nil, "", fmt.Errorf("argument %q: expected key=value; the run file, if any, must come first", a)
		}
	}
	c, err := config.Composer{ConfigDirs: cmd.StringSlice("config-dir")}.Load(runFile, args...)
	if err != nil {
		return nil, "", err
	}
	c.ApplyPluginFlags(cmd.StringSlice("plugin"), cmd.String("backend"))
	name := runFile
	if name == "" {
		name = "defaults"
	}
	return c, name, nil
}

func printConfig(_ context.Context, cmd *cli.Command) error {
	c, name, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	w := cmd.Root().Writer
	if cmd.Bool("brief") {
		err = c.WriteTOMLValues(w)
	} else {
		err = c.WriteTOML(w)
	}
	if err != nil {
		return err
	}
	if verr := c.Validate(); verr != nil {
		fmt.Fprintf(cmd.Root().ErrWriter, "note: this configuration (%s) does not validate (%s); "+
			"`grpo config validate` with the same arguments explains\n", name, countProblems(verr))
	}
	return nil
}

func validateConfig(_ context.Context, cmd *cli.Command) error {
	c, name, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	for _, warning := range append(c.Warnings(), builtinWarnings(c)...) {
		fmt.Fprintln(cmd.Root().ErrWriter, "warning:", warning)
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("%s is not valid: %w", name, err)
	}
	w := cmd.Root().Writer
	fmt.Fprintf(w, "%s: valid\n", name)
	if c.Algorithm == "grpo" {
		fmt.Fprintf(w, "  optimizer step: %d completions = %d prompts × num_generations %d "+
			"(per_device_train_batch_size %d × num_processes %d × gradient_accumulation_steps %d)\n",
			c.GlobalBatch(), c.GlobalBatch()/c.NumGenerations, c.NumGenerations,
			c.PerDeviceTrainBatchSize, c.NumProcesses, c.GradientAccumulation())
		fmt.Fprintf(w, "  generation round: %d completions (%d prompts); %d rounds per optimizer step\n",
			c.GenerationBatch(), c.GenerationBatch()/c.NumGenerations, c.GradientAccumulation()/c.GenerationAggregation())
		fmt.Fprintf(w, "  rewards: %s; backend: %s\n", rewardList(c), c.Backend)
	} else {
		fmt.Fprintf(w, "  optimizer step: %d sequences (per_device_train_batch_size %d × num_processes %d × "+
			"gradient_accumulation_steps %d)\n", c.GlobalBatch(), c.PerDeviceTrainBatchSize,
			c.NumProcesses, c.GradientAccumulation())
	}
	backend := c.GoMLXBackend
	if backend == "" {
		backend = accel.Config() + " (from " + accel.EnvVar + " or the default)"
	}
	fmt.Fprintf(w, "  compute: GoMLX backend %s; CUDA_VISIBLE_DEVICES=%q; HF_TOKEN %s\n",
		backend, os.Getenv("CUDA_VISIBLE_DEVICES"), setOrUnset("HF_TOKEN"))
	return nil
}

// builtinWarnings names the built-in plugins the configuration asks for that this binary does
// not have (core/config cannot know which are compiled in).
func builtinWarnings(c *config.Config) []string {
	var w []string
	for i, r := range c.Rewards {
		if name := r.BuiltinName(); name != "" && !slices.Contains(builtin.Rewards(), name) {
			w = append(w, fmt.Sprintf("[[rewards]] #%d: %s is not built into this binary (built-in rewards: %s)",
				i+1, r.Plugin, strings.Join(builtin.Rewards(), ", ")))
		}
	}
	if name := c.Template.BuiltinName(); name != "" && !slices.Contains(builtin.Templates(), name) {
		w = append(w, fmt.Sprintf("[template]: %s is not built into this binary (built-in templates: %s)",
			c.Template.Plugin, strings.Join(builtin.Templates(), ", ")))
	}
	return w
}

func rewardList(c *config.Config) string {
	if len(c.Rewards) == 0 {
		return "none"
	}
	weights := c.RewardWeightsOrOnes()
	parts := make([]string, len(c.Rewards))
	for i, r := range c.Rewards {
		parts[i] = fmt.Sprintf("%s (weight %g)", r.Plugin, weights[i])
	}
	return strings.Join(parts, ", ")
}

func countProblems(err error) string {
	if v, ok := err.(config.ValidationErrors); ok && len(v) != 1 {
		return fmt.Sprintf("%d problems", len(v))
	}
	return "1 problem"
}

func setOrUnset(env string) string {
	if os.Getenv(env) != "" {
		return "set"
	}
	return "unset"
}
