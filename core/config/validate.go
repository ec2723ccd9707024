package config

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
)

// validator collects problems; each rule adds its own message.
type validator struct {
	c        *Config
	problems ValidationErrors
}

// add records a problem about key, placed where the key's value came from.
func (v *validator) add(key, format string, args ...any) {
	v.problems = append(v.problems, Problem{Where: v.c.Origin(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// oneOf checks that value is one of allowed.
func (v *validator) oneOf(key, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		v.add(key, "%s = %q: must be one of %s", key, value, quoteList(allowed))
	}
}

func (v *validator) atLeast(key string, value, min int) {
	if value < min {
		v.add(key, "%s = %d: must be at least %d", key, value, min)
	}
}

func (v *validator) optAtLeast(key string, value *int, min int) {
	if value != nil {
		v.atLeast(key, *value, min)
	}
}

// finite rejects NaN and infinities, which every numeric key forbids.
func (v *validator) finite(key string, x float64) bool {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		v.add(key, "%s = %v: must be a finite number", key, x)
		return false
	}
	return true
}

// inRange checks lo <(=) x <(=) hi; open says which ends are excluded.
func (v *validator) inRange(key string, x, lo, hi float64, loOpen, hiOpen bool) {
	if !v.finite(key, x) {
		return
	}
	if x < lo || x > hi || loOpen && x == lo || hiOpen && x == hi {
		left, right := "≤", "≤"
		if loOpen {
			left = "<"
		}
		if hiOpen {
			right = "<"
		}
		v.add(key, "%s = %v: must satisfy %v %s %s %s %v", key, x, lo, left, key, right, hi)
	}
}

func (v *validator) positive(key string, x float64) {
	if v.finite(key, x) && x <= 0 {
		v.add(key, "%s = %v: must be > 0", key, x)
	}
}

func (v *validator) nonNegative(key string, x float64) {
	if v.finite(key, x) && x < 0 {
		v.add(key, "%s = %v: must be ≥ 0", key, x)
	}
}

// Validate checks every rule and returns all problems at once as ValidationErrors, or nil. It
// checks values and their relations; it does not load models or plugins, but it does check
// that plugin and checkpoint paths exist.
func (c *Config) Validate() error {
	v := &validator{c: c}
	v.model()
	v.training()
	v.batch()
	v.generation()
	v.vllm()
	v.objective()
	v.teacher()
	v.templates()
	v.plugins()
	v.compute()
	if len(v.problems) == 0 {
		return nil
	}
	return v.problems
}

func (v *validator) model() {
	c := v.c
	if strings.TrimSpace(c.ModelNameOrPath) == "" {
		v.add("model_name_or_path", "model_name_or_path is empty: set it to a Hub id or a local "+
			"model directory, or select a model file (model = \"qwen2.5-7b-instruct\")")
	}
	if strings.TrimSpace(c.DatasetIDOrPath) == "" {
		v.add("dataset_id_or_path", "dataset_id_or_path is empty: set it to a Hub id, a directory "+
			"or a .jsonl/.parquet file, or select a data file (data = \"custom_jsonl\")")
	}
	v.oneOf("dataset_format", c.DatasetFormat, "auto", "prompt", "question", "rlt_teacher", "stratos")
	if c.TrainSplit == "" {
		v.add("train_split", "train_split is empty: name the split to train on (usually \"train\")")
	}
	if c.ValSplit != nil && *c.ValSplit == "" {
		v.add("val_split", "val_split is empty: name a split, or leave the key out for no evaluation")
	}
	for _, col := range []struct{ key, value string }{{"prompt_column", c.PromptColumn},
		{"question_column", c.QuestionColumn}, {"completion_column", c.CompletionColumn}} {
		if col.value == "" {
			v.add(col.key, "%s is empty: name a column of the dataset", col.key)
		}
	}
	v.atLeast("artificial_epochs", c.ArtificialEpochs, 1)
	v.atLeast("max_seq_length", c.MaxSeqLength, 1)
}

func (v *validator) training() {
	c := v.c
	v.oneOf("algorithm", c.Algorithm, "grpo", "sft")
	if c.OutputDir == "" {
		v.add("output_dir", "output_dir is empty: name a directory for checkpoints and logs")
	}
	if c.MaxSteps == 0 || c.MaxSteps < -1 {
		v.add("max_steps", "max_steps = %d: must be a positive number of steps, or -1 to use num_train_epochs", c.MaxSteps)
	}
	if c.MaxSteps == -1 {
		v.positive("num_train_epochs", c.NumTrainEpochs)
	}
	v.nonNegative("learning_rate", c.LearningRate)
	v.oneOf("lr_scheduler_type", c.LRSchedulerType, schedulerTypes...)
	v.inRange("warmup_ratio", c.WarmupRatio, 0, 1, false, false)
	if v.finite("warmup_steps", c.WarmupSteps) && (c.WarmupSteps < 0 ||
		c.WarmupSteps >= 1 && c.WarmupSteps != math.Trunc(c.WarmupSteps)) {
		v.add("warmup_steps", "warmup_steps = %v: must be a whole number of steps, or a ratio "+
			"between 0 and 1", c.WarmupSteps)
	}
	v.nonNegative("weight_decay", c.WeightDecay)
	v.inRange("adam_beta1", c.AdamBeta1, 0, 1, false, true)
	v.inRange("adam_beta2", c.AdamBeta2, 0, 1, false, true)
	v.positive("adam_epsilon", c.AdamEpsilon)
	v.nonNegative("max_grad_norm", c.MaxGradNorm)
	v.atLeast("logging_steps", c.LoggingSteps, 1)
	v.oneOf("save_strategy", c.SaveStrategy, "steps", "epoch", "no")
	if c.SaveStrategy == "steps" {
		v.atLeast("save_steps", c.SaveSteps, 1)
	}
	v.optAtLeast("save_total_limit", c.SaveTotalLimit, 1)
	if r := c.ResumeFromCheckpoint; r != nil && *r != "latest" {
		if _, err := os.Stat(*r); err != nil {
			v.add("resume_from_checkpoint", "resume_from_checkpoint = %q: %v; give a checkpoint "+
				"directory, or \"latest\" for the newest one in output_dir", *r, err)
		}
	}
	for _, r := range c.ReportTo {
		if r != "none" && r != "tensorboard" && r != "all" {
			v.add("report_to", "report_to contains %q: grpo reports to \"tensorboard\" (or \"all\", "+
				"the same) or \"none\"; metrics always go to the console and output_dir", r)
		}
	}
}

// schedulerTypes are the lr_scheduler_type values core/optim implements (transformers names).
var schedulerTypes = []string{"linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
	"constant_with_warmup", "inverse_sqrt", "cosine_with_min_lr", "cosine_warmup_with_min_lr",
	"warmup_stable_decay"}

// batch checks the batch geometry: RLT train.py (train_batch_size), grpo.py:309-392
// (generation_aggregation_steps, num_generations) and 346-360 (backprop chunking).
func (v *validator) batch() {
	c := v.c
	v.atLeast("per_device_train_batch_size", c.PerDeviceTrainBatchSize, 1)
	v.atLeast("gradient_accumulation_steps", c.GradientAccumulationSteps, 1)
	v.atLeast("num_processes", c.NumProcesses, 1)
	if c.PerDeviceTrainBatchSize < 1 || c.GradientAccumulationSteps < 1 || c.NumProcesses < 1 {
		return // the products below would be meaningless
	}
	perStep := c.PerDeviceTrainBatchSize * c.NumProcesses
	if tb := c.TrainBatchSize; tb != nil {
		switch {
		case *tb < 1:
			v.add("train_batch_size", "train_batch_size = %d: must be at least 1", *tb)
			return
		case *tb%perStep != 0:
			v.add("train_batch_size", "train_batch_size = %d: must be a multiple of "+
				"per_device_train_batch_size × num_processes = %d × %d = %d, because "+
				"gradient_accumulation_steps = train_batch_size / %d",
				*tb, c.PerDeviceTrainBatchSize, c.NumProcesses, perStep, perStep)
			return
		case c.GradientAccumulationSteps != 1 && c.GradientAccumulationSteps != *tb/perStep:
			v.add("gradient_accumulation_steps", "gradient_accumulation_steps = %d contradicts "+
				"train_batch_size = %d, which gives %d; remove one of them",
				c.GradientAccumulationSteps, *tb, *tb/perStep)
		}
	}
	ga := c.GradientAccumulation()
	global := c.GlobalBatch()
	if c.Algorithm == "sft" {
		v.backprop()
		return // the rest is about generation groups
	}

	g := c.NumGenerations
	if g < 2 {
		v.add("num_generations", "num_generations = %d: must be at least 2, because advantages "+
			"compare the completions of one prompt with each other", g)
	} else if global%g != 0 {
		v.add("num_generations", "num_generations = %d: must divide the global batch %d "+
			"(per_device_train_batch_size %d × processes %d × gradient_accumulation_steps %d); "+
			"divisors that work: %s", g, global, c.PerDeviceTrainBatchSize, c.NumProcesses, ga,
			divisors(global))
	}

	if s := c.GenerationAggregationSteps; s != nil {
		if *s < 1 {
			v.add("generation_aggregation_steps", "generation_aggregation_steps = %d: must be at least 1", *s)
		} else if ga%*s != 0 {
			v.add("generation_aggregation_steps", "generation_aggregation_steps = %d: must divide "+
				"gradient_accumulation_steps %d, so that whole generation rounds fill an optimizer step", *s, ga)
		} else if gb := c.GenerationBatch(); g >= 2 && global%g == 0 && gb%g != 0 {
			v.add("num_generations", "num_generations = %d: must divide the generation batch %d "+
				"(per_device_train_batch_size × processes × generation_aggregation_steps), so a "+
				"round holds whole groups; divisors that work: %s", g, gb, divisors(gb))
		}
	} else if g >= 2 && global%g == 0 && perStep%g != 0 {
		v.add("num_generations", "num_generations = %d: must divide the generation batch %d "+
			"(per_device_train_batch_size × processes; one generation round per micro-step) so a "+
			"round holds whole groups; set generation_aggregation_steps = %d to generate for the "+
			"whole optimizer step at once", g, perStep, ga)
	}

	v.backprop()
}

// backprop checks the backward-chunking keys (RLT grpo.py:346-360).
func (v *validator) backprop() {
	c := v.c
	steps, micro := c.BackpropAccumulationSteps, c.BackpropAccumulationMicroBatchSize
	switch {
	case steps != nil && micro != nil:
		v.add("backprop_accumulation_steps", "backprop_accumulation_steps and "+
			"backprop_accumulation_micro_batch_size are both set: set only one")
	case steps != nil && *steps < 1:
		v.add("backprop_accumulation_steps", "backprop_accumulation_steps = %d: must be at least 1", *steps)
	case steps != nil && c.PerDeviceTrainBatchSize%*steps != 0:
		v.add("backprop_accumulation_steps", "backprop_accumulation_steps = %d: must divide "+
			"per_device_train_batch_size %d", *steps, c.PerDeviceTrainBatchSize)
	case micro != nil && *micro < 1:
		v.add("backprop_accumulation_micro_batch_size", "backprop_accumulation_micro_batch_size = %d: must be at least 1", *micro)
	}
}

func (v *validator) generation() {
	c := v.c
	v.atLeast("max_prompt_length", c.MaxPromptLength, 1)
	v.atLeast("max_completion_length", c.MaxCompletionLength, 1)
	v.positive("temperature", c.Temperature)
	v.inRange("top_p", c.TopP, 0, 1, true, false)
	v.optAtLeast("top_k", c.TopK, 0)
	if c.MinP != nil {
		v.inRange("min_p", *c.MinP, 0, 1, false, false)
	}
	v.positive("repetition_penalty", c.RepetitionPenalty)
	v.atLeast("num_iterations", c.NumIterations, 1)
}

func (v *validator) vllm() {
	c := v.c
	if c.UseVLLM && c.UseVLLMServer {
		v.add("use_vllm", "use_vllm and use_vllm_server are both true: choose one (use_vllm_server "+
			"for running vLLM servers, use_vllm for an engine grpo starts)")
	}
	if (c.UseVLLM || c.UseVLLMServer) && c.Backend != "vllm" {
		v.add("backend", "backend = %q but use_vllm/use_vllm_server is true: set backend = \"vllm\"", c.Backend)
	}
	if c.Backend == "vllm" && !c.UseVLLM && !c.UseVLLMServer {
		v.add("backend", "backend = \"vllm\" needs use_vllm_server = true (external servers at "+
			"vllm_host:vllm_port) or use_vllm = true (an engine grpo starts on vllm_device)")
	}
	if c.UseRay {
		v.add("use_ray", "use_ray = true: RLT's Ray engines are not available in grpo; run vLLM "+
			"servers instead (backend = \"vllm\", use_vllm_server = true, num_vllm_clients = N)")
	}
	v.inRange("vllm_gpu_memory_utilization", c.VLLMGPUMemoryUtilization, 0, 1, true, false)
	v.oneOf("vllm_dtype", c.VLLMDtype, "auto", "half", "float16", "bfloat16", "float", "float32")
	v.optAtLeast("vllm_max_model_len", c.VLLMMaxModelLen, 1)
	v.atLeast("num_vllm_clients", c.NumVLLMClients, 1)
	if c.VLLMPort != nil {
		v.port("vllm_port", *c.VLLMPort, c.NumVLLMClients)
	}
	v.port("vllm_group_port", c.VLLMGroupPort, c.NumVLLMClients)
	v.positive("vllm_server_timeout", c.VLLMServerTimeout)
	if c.VLLMHost != nil && *c.VLLMHost == "" {
		v.add("vllm_host", "vllm_host is empty: name the host, or leave the key out for localhost")
	}
}

// port checks that base … base+clients−1 are valid TCP ports (client i uses base + i).
func (v *validator) port(key string, base, clients int) {
	if base < 1 || base+max(clients, 1)-1 > 65535 {
		v.add(key, "%s = %d: ports %d to %d (one per vLLM client) must lie in 1-65535",
			key, base, base, base+max(clients, 1)-1)
	}
}

func (v *validator) objective() {
	c := v.c
	v.nonNegative("beta", c.Beta)
	v.oneOf("loss_type", c.LossType, "grpo", "bnpo", "dr_grpo", "dapo")
	v.positive("epsilon", c.Epsilon)
	if c.EpsilonHigh != nil && v.finite("epsilon_high", *c.EpsilonHigh) && *c.EpsilonHigh < c.Epsilon {
		v.add("epsilon_high", "epsilon_high = %v: must be ≥ epsilon (%v)", *c.EpsilonHigh, c.Epsilon)
	}
	v.oneOf("scale_rewards", c.ScaleRewards, "group", "batch", "none")
	if w := c.RewardWeights; w != nil && c.Algorithm != "sft" {
		if len(w) != len(c.Rewards) {
			v.add("reward_weights", "reward_weights has %d values but %d reward plugins are "+
				"configured ([[rewards]] and --plugin); give one weight per plugin, in order",
				len(w), len(c.Rewards))
		}
		for _, x := range w {
			v.finite("reward_weights", x)
		}
	}
	v.inRange("ref_model_mixup_alpha", c.RefModelMixupAlpha, 0, 1, false, false)
	v.atLeast("ref_model_sync_steps", c.RefModelSyncSteps, 1)
	if c.SaveCompletionsProbability != nil {
		v.inRange("save_completions_probability", *c.SaveCompletionsProbability, 0, 1, false, false)
	}
}

// teacher checks the RLT teacher-reward knobs (trainers/teacher_rewards.py:122-211).
func (v *validator) teacher() {
	c := v.c
	if c.StudentModel != nil && *c.StudentModel == "" {
		v.add("student_model", "student_model is empty: name the student model, or leave the key "+
			"out to score with the reference model")
	}
	v.reductions("reduction_log_prob_fn", c.ReductionLogProbFn, "answer_log_prob_coeff", c.AnswerLogProbCoeff)
	v.reductions("reduction_kl_fn", c.ReductionKLFn, "kl_penalty_reward_coeff", c.KLPenaltyRewardCoeff)
	if fn := c.NormalizeLogProbFn; fn != nil {
		v.oneOf("normalize_log_prob_fn", strings.ToLower(*fn), "none", "exp", "exp_norm")
	}
	if fn := c.NormalizeKLFn; fn != nil {
		v.oneOf("normalize_kl_fn", strings.ToLower(*fn), "none", "exp", "exp_norm")
	}
	if c.ClipLogProb != nil {
		v.positive("clip_log_prob", *c.ClipLogProb)
	}
	if c.ClipKL != nil {
		v.positive("clip_kl", *c.ClipKL)
	}
	v.finite("not_matched_penalty", c.NotMatchedPenalty)
	if c.UnbiasStudentLogProbsTemp != nil {
		v.positive("unbias_student_log_probs_temp", *c.UnbiasStudentLogProbsTemp)
	}
	if c.CorrectGenerationCoeff != 0 {
		v.add("correct_generation_coeff", "correct_generation_coeff = %v: must be 0; sampling the "+
			"student to check correctness is not implemented (RLT raises NotImplementedError too)",
			c.CorrectGenerationCoeff)
	}
	v.inRange("logging_prob", c.LoggingProb, 0, 1, false, false)
	v.nonNegative("degradation_penalty_multiplier", c.DegradationPenaltyMultiplier)
	v.nonNegative("efficiency_weight", c.EfficiencyWeight)
}

// reductions checks a reduction list and its coefficients: one coefficient per reduction, or a
// single one for all (RLT multiplies the reduction vector by the coefficients).
func (v *validator) reductions(key string, fns []string, coeffKey string, coeffs []float64) {
	if len(fns) == 0 {
		v.add(key, "%s is empty: name at least one reduction (e.g. [\"mean\"])", key)
	}
	for _, fn := range fns {
		v.oneOf(key, strings.ToLower(fn), "mean", "sum", "min", "max", "median", "first_quartile", "last_quartile")
	}
	if len(coeffs) != 1 && len(coeffs) != len(fns) {
		v.add(coeffKey, "%s has %d values for %d reductions in %s: give one per reduction, or a "+
			"single value for all", coeffKey, len(coeffs), len(fns), key)
	}
	for _, x := range coeffs {
		v.finite(coeffKey, x)
	}
}

func (v *validator) plugins() {
	c := v.c
	if len(c.Rewards) == 0 && c.Algorithm == "grpo" {
		v.add("rewards", "no reward plugins: add a [[rewards]] table with plugin = \"...\" "+
			"(a .wasm file, an executable or \"builtin:NAME\"), or pass --plugin PATH")
	}
	for i, r := range c.Rewards {
		v.plugin("rewards", fmt.Sprintf("[[rewards]] #%d", i+1), r)
	}
	if c.Template.Plugin != "" {
		v.plugin("template", "[template]", c.Template)
	}
	switch c.Backend {
	case "local", "vllm":
	case "":
		v.add("backend", "backend is empty: use \"local\", \"vllm\" or the path of a backend plugin executable")
	default:
		v.executable("backend", "backend", c.Backend)
	}
	v.positive("plugin_timeout", c.PluginTimeout)
	if c.PluginMemoryLimitMB < 1 || c.PluginMemoryLimitMB > 4096 {
		v.add("plugin_memory_limit_mb", "plugin_memory_limit_mb = %d: must be 1 to 4096 (a WASM "+
			"instance addresses at most 4 GiB)", c.PluginMemoryLimitMB)
	}
	v.oneOf("plugin_sandbox", c.PluginSandbox, "inprocess", "process")
	v.oneOf("reward_failure", c.RewardFailure, "error", "skip_batch", "zero")
}

// plugin checks that a plugin name has a valid form and that its file exists.
func (v *validator) plugin(key, what string, p PluginSpec) {
	switch p.Kind() {
	case KindNone:
		v.add(key, "%s: plugin is empty: give a .wasm path, an executable path or \"builtin:NAME\"", what)
	case KindBuiltin:
		if p.BuiltinName() == "" {
			v.add(key, "%s: plugin = %q names no built-in: write \"builtin:NAME\"", what, p.Plugin)
		}
	case KindWASM:
		if st, err := os.Stat(p.Plugin); err != nil {
			v.add(key, "%s: plugin %q: %v (paths are relative to the working directory)", what, p.Plugin, err)
		} else if !st.Mode().IsRegular() {
			v.add(key, "%s: plugin %q is not a file", what, p.Plugin)
		}
	case KindProcess:
		v.executable(key, what, p.Plugin)
	}
}

func (v *validator) executable(key, what, path string) {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		v.add(key, "%s: %q: %v (an executable path; paths are relative to the working directory)", what, path, err)
	case !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0:
		v.add(key, "%s: %q is not an executable file (chmod +x it, or name a .wasm module)", what, path)
	}
}

func (v *validator) compute() {
	c := v.c
	if c.ZeroStage < 0 || c.ZeroStage > 3 {
		v.add("zero_stage", "zero_stage = %d: must be 0, 1, 2 or 3", c.ZeroStage)
	}
	v.oneOf("offload_optimizer_device", c.OffloadOptimizerDevice, "none", "cpu")
	v.oneOf("offload_param_device", c.OffloadParamDevice, "none", "cpu")
	if c.OffloadParamDevice == "cpu" && c.ZeroStage != 3 {
		v.add("offload_param_device", "offload_param_device = \"cpu\" needs zero_stage = 3 (only ZeRO-3 shards parameters)")
	}
}

// divisors lists the divisors ≥ 2 of n, for messages.
func divisors(n int) string {
	var ds []string
	for d := 2; d <= n && len(ds) < 12; d++ {
		if n%d == 0 {
			ds = append(ds, fmt.Sprint(d))
		}
	}
	if len(ds) == 0 {
		return "none (make the batch larger)"
	}
	return strings.Join(ds, ", ")
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
