package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/grpo-dev/grpo/core/optim"
)

// validBase returns a configuration that passes Validate.
func validBase(t *testing.T) *Config {
	t.Helper()
	c := Default()
	c.ModelNameOrPath = "Qwen/Qwen2.5-0.5B-Instruct"
	c.DatasetIDOrPath = "data/train.jsonl"
	c.Rewards = []PluginSpec{{Plugin: "builtin:math"}}
	if err := c.Validate(); err != nil {
		t.Fatalf("base config: %v", err)
	}
	return c
}

// TestValidationRules: each rule of the issue (and the others Validate checks) has its own
// message; the base config breaks exactly that rule.
func TestValidationRules(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "backend")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o644); err != nil { // not executable
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string
	}{
		{"num_generations ≥ 2", func(c *Config) { c.NumGenerations = 1 },
			"num_generations = 1: must be at least 2"},
		{"num_generations divides the global batch", func(c *Config) { c.NumGenerations = 3 },
			"num_generations = 3: must divide the global batch 8 (per_device_train_batch_size 8 × processes 1 × gradient_accumulation_steps 1); divisors that work: 2, 4, 8"},
		{"global batch counts processes and accumulation", func(c *Config) {
			c.PerDeviceTrainBatchSize, c.NumProcesses, c.GradientAccumulationSteps, c.NumGenerations = 2, 3, 5, 4
		}, "num_generations = 4: must divide the global batch 30"},
		{"generation round holds whole groups", func(c *Config) {
			c.PerDeviceTrainBatchSize, c.GradientAccumulationSteps = 2, 4
		}, "num_generations = 8: must divide the generation batch 2 (per_device_train_batch_size × processes; one generation round per micro-step) so a round holds whole groups; set generation_aggregation_steps = 4"},
		{"generation_aggregation_steps divides accumulation", func(c *Config) {
			c.GradientAccumulationSteps, c.GenerationAggregationSteps = 4, ptr(3)
		}, "generation_aggregation_steps = 3: must divide gradient_accumulation_steps 4"},
		{"reward_weights matches the plugins", func(c *Config) { c.RewardWeights = []float64{1, 0.5} },
			"reward_weights has 2 values but 1 reward plugins are configured"},
		{"diagnostic template has {question}", func(c *Config) { c.StudentDiagnosticTemplate = "How would you start?" },
			"student_diagnostic_template lacks {question}: the template must contain {question}"},
		{"teacher template has {approach}", func(c *Config) { c.TeacherAdaptiveTemplate = "Teach {question}." },
			"teacher_adaptive_template lacks {approach}"},
		{"with-teaching template has both", func(c *Config) { c.StudentWithTeachingTemplate = "Solve." },
			"student_with_teaching_template lacks {question} and {teaching}"},
		{"baseline template has {question}", func(c *Config) { c.StudentBaselineTemplate = "" },
			"student_baseline_template lacks {question}"},
		{"temperature > 0", func(c *Config) { c.Temperature = 0 }, "temperature = 0: must be > 0"},
		{"top_p > 0", func(c *Config) { c.TopP = 0 }, "top_p = 0: must satisfy 0 < top_p ≤ 1"},
		{"top_p ≤ 1", func(c *Config) { c.TopP = 1.5 }, "top_p = 1.5: must satisfy 0 < top_p ≤ 1"},
		{"min_p ≥ 0", func(c *Config) { c.MinP = ptr(-0.1) }, "min_p = -0.1: must satisfy 0 ≤ min_p ≤ 1"},
		{"min_p ≤ 1", func(c *Config) { c.MinP = ptr(1.5) }, "min_p = 1.5: must satisfy 0 ≤ min_p ≤ 1"},
		{"repetition_penalty > 0", func(c *Config) { c.RepetitionPenalty = 0 }, "repetition_penalty = 0: must be > 0"},
		{"ref_model_mixup_alpha ≤ 1", func(c *Config) { c.RefModelMixupAlpha = 1.5 },
			"ref_model_mixup_alpha = 1.5: must satisfy 0 ≤ ref_model_mixup_alpha ≤ 1"},
		{"ref_model_mixup_alpha ≥ 0", func(c *Config) { c.RefModelMixupAlpha = -0.5 },
			"ref_model_mixup_alpha = -0.5: must satisfy 0 ≤ ref_model_mixup_alpha ≤ 1"},
		{"vllm_gpu_memory_utilization > 0", func(c *Config) { c.VLLMGPUMemoryUtilization = 0 },
			"vllm_gpu_memory_utilization = 0: must satisfy 0 < vllm_gpu_memory_utilization ≤ 1"},
		{"vllm_gpu_memory_utilization ≤ 1", func(c *Config) { c.VLLMGPUMemoryUtilization = 1.2 },
			"vllm_gpu_memory_utilization = 1.2: must satisfy 0 < vllm_gpu_memory_utilization ≤ 1"},
		{"use_vllm and use_vllm_server not both", func(c *Config) { c.UseVLLM, c.UseVLLMServer, c.Backend = true, true, "vllm" },
			"use_vllm and use_vllm_server are both true: choose one"},
		{"artificial_epochs ≥ 1", func(c *Config) { c.ArtificialEpochs = 0 }, "artificial_epochs = 0: must be at least 1"},
		{"backprop keys not both", func(c *Config) {
			c.BackpropAccumulationSteps, c.BackpropAccumulationMicroBatchSize = ptr(2), ptr(4)
		}, "backprop_accumulation_steps and backprop_accumulation_micro_batch_size are both set: set only one"},
		{"backprop steps divide the micro-batch", func(c *Config) { c.BackpropAccumulationSteps = ptr(3) },
			"backprop_accumulation_steps = 3: must divide per_device_train_batch_size 8"},
		{"train_batch_size divisible", func(c *Config) { c.TrainBatchSize = ptr(12) },
			"train_batch_size = 12: must be a multiple of per_device_train_batch_size × num_processes = 8 × 1 = 8"},
		{"train_batch_size agrees with accumulation", func(c *Config) { c.TrainBatchSize, c.GradientAccumulationSteps = ptr(32), 2 },
			"gradient_accumulation_steps = 2 contradicts train_batch_size = 32, which gives 4"},
		{"model required", func(c *Config) { c.ModelNameOrPath = "" }, "model_name_or_path is empty"},
		{"dataset required", func(c *Config) { c.DatasetIDOrPath = " " }, "dataset_id_or_path is empty"},
		{"rewards required for GRPO", func(c *Config) { c.Rewards = nil }, "no reward plugins: add a [[rewards]] table"},
		{"vLLM needs the vllm backend", func(c *Config) { c.UseVLLMServer = true },
			`backend = "local" but use_vllm/use_vllm_server is true: set backend = "vllm"`},
		{"vllm backend needs a mode", func(c *Config) { c.Backend = "vllm" },
			`backend = "vllm" needs use_vllm_server = true`},
		{"no Ray", func(c *Config) { c.UseRay = true }, "use_ray = true: RLT's Ray engines are not available"},
		{"ports in range", func(c *Config) { c.VLLMPort, c.NumVLLMClients = ptr(65535), 2 },
			"vllm_port = 65535: ports 65535 to 65536 (one per vLLM client) must lie in 1-65535"},
		{"loss_type known", func(c *Config) { c.LossType = "ppo" },
			`loss_type = "ppo": must be one of "grpo", "bnpo", "dr_grpo", "dapo"`},
		{"scale_rewards known", func(c *Config) { c.ScaleRewards = "true" }, `scale_rewards = "true": must be one of "group", "batch", "none"`},
		{"epsilon_high ≥ epsilon", func(c *Config) { c.EpsilonHigh = ptr(0.1) }, "epsilon_high = 0.1: must be ≥ epsilon (0.2)"},
		{"correct_generation_coeff stays 0", func(c *Config) { c.CorrectGenerationCoeff = 0.5 },
			"correct_generation_coeff = 0.5: must be 0"},
		{"coefficients match reductions", func(c *Config) { c.KLPenaltyRewardCoeff = []float64{1, 2, 3} },
			"kl_penalty_reward_coeff has 3 values for 2 reductions in reduction_kl_fn"},
		{"reductions known", func(c *Config) { c.ReductionLogProbFn = []string{"mean", "avg"} },
			`reduction_log_prob_fn = "avg": must be one of "mean", "sum", "min", "max"`},
		{"normalize fn known", func(c *Config) { c.NormalizeKLFn = ptr("log") },
			`normalize_kl_fn = "log": must be one of "none", "exp", "exp_norm"`},
		{"student temperature > 0", func(c *Config) { c.UnbiasStudentLogProbsTemp = ptr(0.0) },
			"unbias_student_log_probs_temp = 0: must be > 0"},
		{"wasm plugin exists", func(c *Config) { c.Rewards = []PluginSpec{{Plugin: "nope/math.wasm"}} },
			`[[rewards]] #1: plugin "nope/math.wasm": stat nope/math.wasm: no such file or directory`},
		{"builtin names something", func(c *Config) { c.Rewards = []PluginSpec{{Plugin: "builtin:"}} },
			`[[rewards]] #1: plugin = "builtin:" names no built-in`},
		{"backend executable", func(c *Config) { c.Backend = exe }, "is not an executable file (chmod +x it"},
		{"reward_failure known", func(c *Config) { c.RewardFailure = "ignore" },
			`reward_failure = "ignore": must be one of "error", "skip_batch", "zero"`},
		{"plugin memory cap", func(c *Config) { c.PluginMemoryLimitMB = 8192 }, "plugin_memory_limit_mb = 8192: must be 1 to 4096"},
		{"report_to known", func(c *Config) { c.ReportTo = []string{"wandb"} }, `report_to contains "wandb"`},
		{"lr scheduler known", func(c *Config) { c.LRSchedulerType = "cosine_annealing" }, `lr_scheduler_type = "cosine_annealing": must be one of`},
		{"resume path exists", func(c *Config) { c.ResumeFromCheckpoint = ptr("out/checkpoint-9") },
			`resume_from_checkpoint = "out/checkpoint-9": stat out/checkpoint-9: no such file or directory`},
		{"warmup_steps whole or a ratio", func(c *Config) { c.WarmupSteps = 2.5 },
			"warmup_steps = 2.5: must be a whole number of steps, or a ratio between 0 and 1"},
		{"max_steps positive or -1", func(c *Config) { c.MaxSteps = 0 }, "max_steps = 0: must be a positive number of steps, or -1"},
		{"param offload needs ZeRO-3", func(c *Config) { c.OffloadParamDevice = "cpu" },
			`offload_param_device = "cpu" needs zero_stage = 3`},
		{"finite numbers", func(c *Config) { c.Beta = nanValue() }, "beta = NaN: must be a finite number"},
		{"algorithm known", func(c *Config) { c.Algorithm = "ppo" }, `algorithm = "ppo": must be one of "grpo", "sft"`},
	}
	for _, tt := range tests {
		c := validBase(t)
		tt.mutate(c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: no error, want %q", tt.name, tt.want)
			continue
		}
		if !problems(t, err).Has(tt.want) {
			t.Errorf("%s: got\n%v\nwant a problem containing %q", tt.name, err, tt.want)
		}
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	c := validBase(t)
	c.Temperature, c.TopP, c.NumGenerations, c.ArtificialEpochs = -1, 2, 1, 0
	v := problems(t, c.Validate())
	if len(v) != 4 {
		t.Errorf("%d problems, want 4:\n%v", len(v), v)
	}
	if !strings.HasPrefix(v.Error(), "4 configuration problems:\n  ") {
		t.Errorf("Error() = %q", v.Error())
	}
}

// TestProblemNamesWhereTheValueCameFrom: a rule broken by a file's value points at its line.
func TestProblemNamesWhereTheValueCameFrom(t *testing.T) {
	dir := writeTree(t, map[string]string{"r.toml": "model_name_or_path = \"m\"\ndataset_id_or_path = \"d\"\n" +
		"num_generations = 3\n[[rewards]]\nplugin = \"builtin:x\"\n"})
	run := filepath.Join(dir, "r.toml")
	c, err := Load(run, "temperature=0")
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	wantProblem(t, err, run+":3: num_generations = 3: must divide the global batch 8")
	wantProblem(t, err, "command line `temperature=0`: temperature = 0: must be > 0")
}

func TestSFTSkipsGroupRules(t *testing.T) {
	c := validBase(t)
	c.Algorithm, c.Rewards, c.NumGenerations, c.PerDeviceTrainBatchSize = "sft", nil, 8, 1
	if err := c.Validate(); err != nil {
		t.Errorf("sft config: %v", err)
	}
}

func TestWarnings(t *testing.T) {
	c := validBase(t)
	c.TeacherAdaptiveTemplate = "Q: {question}\nA: {approach}\nKnown: {solution}\nOops: {questoin} \\frac{1}{2} \\boxed{}"
	c.ZeroStage = 3
	c.LRSchedulerType, c.WarmupRatio = "constant", 0.1
	w := strings.Join(c.Warnings(), "\n")
	for _, want := range []string{
		"teacher_adaptive_template: {questoin} is not a variable of this template (known: {question}, {approach}, {solution})",
		"zero_stage is set but has no effect yet",
		`warmup_ratio/warmup_steps have no effect with lr_scheduler_type = "constant"`,
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q; got:\n%s", want, w)
		}
	}
	if strings.Contains(w, "{solution} is not") || strings.Contains(w, "{boxed}") {
		t.Errorf("known or non-variable braces reported:\n%s", w)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("warnings must not fail validation: %v", err)
	}
}

func TestDerivedValues(t *testing.T) {
	c := validBase(t)
	c.PerDeviceTrainBatchSize, c.NumProcesses, c.TrainBatchSize = 2, 4, ptr(64)
	c.GenerationAggregationSteps = ptr(4)
	c.BackpropAccumulationSteps = ptr(2)
	if got := []int{c.GradientAccumulation(), c.GlobalBatch(), c.GenerationAggregation(), c.GenerationBatch(), c.BackpropChunk()}; got[0] != 8 || got[1] != 64 || got[2] != 4 || got[3] != 32 || got[4] != 1 {
		t.Errorf("GA, global, S, generation batch, chunk = %v; want [8 64 4 32 1]", got)
	}
	if w := c.RewardWeightsOrOnes(); len(w) != 1 || w[0] != 1 {
		t.Errorf("weights = %v", w)
	}
	if c.ClipHigh() != 0.2 {
		t.Errorf("ClipHigh = %v, want epsilon", c.ClipHigh())
	}
	s := c.Sampling()
	if s.Temperature != 0.7 || s.TopK != 0 || s.MinP != 0 || s.MaxTokens != 256 || s.Seed != 42 {
		t.Errorf("Sampling = %+v", s)
	}
}

func TestCloneIsDeep(t *testing.T) {
	c := validBase(t)
	c.ModelInitKwargs = map[string]any{"a": map[string]any{"b": int64(1)}}
	c.TopK = ptr(5)
	d := c.Clone()
	d.ModelInitKwargs["a"].(map[string]any)["b"] = int64(2)
	*d.TopK = 6
	d.ReportTo[0] = "tensorboard"
	d.Rewards[0].Plugin = "builtin:y"
	if c.ModelInitKwargs["a"].(map[string]any)["b"] != int64(1) || *c.TopK != 5 || c.ReportTo[0] != "none" || c.Rewards[0].Plugin != "builtin:math" {
		t.Error("Clone shares memory with the original")
	}
}

// TestSchedulerTypesMatchOptim keeps validation in step with the schedules core/optim builds.
func TestSchedulerTypesMatchOptim(t *testing.T) {
	if !slices.Equal(schedulerTypes, optim.ScheduleTypes) {
		t.Errorf("lr_scheduler_type values %q differ from core/optim's %q", schedulerTypes, optim.ScheduleTypes)
	}
}
