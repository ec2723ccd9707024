package config_test

import (
	"fmt"

	"github.com/grpo-dev/grpo/core/config"
)

// Compose a run file with command-line style overrides, validate it, and read derived values:
// what `grpo config print configs/run/teacher_rlt.toml learning_rate=5e-6 num_generations=16`
// does.
func Example() {
	c, err := config.Load("../../configs/run/teacher_rlt.toml", "learning_rate=5e-6", "num_generations=16")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("learning_rate:", c.LearningRate, "from", c.Origin("learning_rate"))
	fmt.Println("num_generations:", c.NumGenerations)
	fmt.Println("completions per optimizer step:", c.GlobalBatch())
	fmt.Println("prompts per optimizer step:", c.GlobalBatch()/c.NumGenerations)
	fmt.Println("student:", *c.StudentModel)
	// Output:
	// learning_rate: 5e-06 from command line `learning_rate=5e-6`
	// num_generations: 16
	// completions per optimizer step: 1024
	// prompts per optimizer step: 64
	// student: bespokelabs/Bespoke-Stratos-7B
}

// Build a configuration in code, then validate it: every problem comes back at once.
func ExampleConfig_Validate() {
	c := config.Default()
	c.ModelNameOrPath = "Qwen/Qwen2.5-0.5B-Instruct"
	c.DatasetIDOrPath = "data/gsm8k.jsonl"
	c.Rewards = []config.PluginSpec{{Plugin: "builtin:math"}, {Plugin: "builtin:format"}}
	c.RewardWeights = []float64{1.0}
	c.NumGenerations = 6
	fmt.Println(c.Validate())

	c.RewardWeights = []float64{1.0, 0.5}
	c.NumGenerations = 4
	fmt.Println(c.Validate())
	// Output:
	// 2 configuration problems:
	//   num_generations = 6: must divide the global batch 8 (per_device_train_batch_size 8 × processes 1 × gradient_accumulation_steps 1); divisors that work: 2, 4, 8
	//   reward_weights has 1 values but 2 reward plugins are configured ([[rewards]] and --plugin); give one weight per plugin, in order
	// <nil>
}

// Set applies one override as the command line would, with TOML value syntax.
func ExampleConfig_Set() {
	c := config.Default()
	for _, kv := range [][2]string{
		{"model_name_or_path", "Qwen/Qwen2.5-7B-Instruct"},  // a bare string
		{"model_init_kwargs", `{torch_dtype = "bfloat16"}`}, // an inline table
		{"reward_weights", "[1.0, 0.5]"},
		{"top_k", "50"},
	} {
		if err := c.Set(kv[0], kv[1]); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println(c.ModelNameOrPath, c.ModelInitKwargs["torch_dtype"], c.RewardWeights, *c.TopK)
	fmt.Println(c.Set("temprature", "0.8"))
	// Output:
	// Qwen/Qwen2.5-7B-Instruct bfloat16 [1 0.5] 50
	// command line `temprature=0.8`: unknown key `temprature` (did you mean `temperature`?)
}
