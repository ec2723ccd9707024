package config

// Config is the whole configuration of a grpo run: RLT's GRPOConfig (a TrainingArguments
// subclass), the training arguments a transformers user expects, the TRL additions RLT users
// look for, RLT's teacher-reward knobs, and grpo's plugin selection. Every key lives in one
// flat namespace, as with Hydra's `_global_` packages; the TOML key is the field's `toml` tag.
//
// A Python None default is a nil pointer, slice or map. The doc comment of each field is what
// `grpo config print` shows above the key (this file is embedded and read at run time), so keep
// them short and say what a value means, its unit and its source.
//
// The `group` tag starts a section of `config print`; the `grpo:"inert"` tag marks keys that
// are accepted for RLT/TRL compatibility but change nothing yet (Warnings lists them when set).
type Config struct {
	// Hub id or local directory of the policy to train (Hugging Face layout). Required.
	ModelNameOrPath string `toml:"model_name_or_path" group:"Model"`
	// Options for loading the policy, as for AutoModelForCausalLM.from_pretrained, e.g.
	// {torch_dtype = "bfloat16"}. Unset: the checkpoint's own dtype.
	ModelInitKwargs map[string]any `toml:"model_init_kwargs"`
	// Options for loading the tokenizer, e.g. {padding_side = "left"}.
	TokenizerKwargs map[string]any `toml:"tokenizer_kwargs"`
	// Drop dataset columns other than the prompt before rewards see them. Keep false when a
	// reward needs other columns (answers, solutions).
	RemoveUnusedColumns bool `toml:"remove_unused_columns"`
	// Recompute activations in the backward pass to save memory (TrainingArguments).
	GradientCheckpointing bool `toml:"gradient_checkpointing"`

	// Hub id, local directory, or .jsonl/.parquet file of the training data. Required.
	DatasetIDOrPath string `toml:"dataset_id_or_path" group:"Data"`
	// How rows become prompts (core/data): "auto" (chosen from the settings and columns),
	// "prompt" (prompt_column holds the finished prompt or chat messages), "question"
	// (question_column through prompt_template), "rlt_teacher" (RLT's teacher format: question
	// and solution in, explanation out; custom_data/teacher_data.py) or "stratos"
	// (Bespoke-Stratos conversations, student format).
	DatasetFormat string `toml:"dataset_format"`
	// Split used for training, e.g. "train" or "train[:90%]".
	TrainSplit string `toml:"train_split"`
	// Split used for evaluation. Unset: no evaluation (RLT does not evaluate during GRPO).
	ValSplit *string `toml:"val_split"`
	// Column holding the finished prompt (dataset_format "prompt").
	PromptColumn string `toml:"prompt_column"`
	// Column holding the bare question: the prompt of dataset_format "question" and {question}
	// in prompt_template and the adaptive-teaching templates.
	QuestionColumn string `toml:"question_column"`
	// SFT only: column holding the target completion (dataset_format "prompt" or "question").
	CompletionColumn string `toml:"completion_column"`
	// Template over row columns, e.g. "Solve: {question}"; each {name} is replaced by that
	// column's value, other braces stay. Unset: the question as is.
	PromptTemplate *string `toml:"prompt_template"`
	// System message put before each prompt. Unset: none (or the data format's own).
	SystemPrompt *string `toml:"system_prompt"`
	// Render prompts with the tokenizer's chat template (false: plain text prompts).
	ApplyChatTemplate bool `toml:"apply_chat_template"`
	// SFT only: train on the completion (assistant) tokens, not the prompt. GRPO always trains
	// on completions.
	CompletionOnlyTraining bool `toml:"completion_only_training"`
	// Columns to keep beyond those the data format needs; they reach rewards as metadata.
	// Unset: all columns are kept.
	KeepColumns []string `toml:"keep_columns"`
	// Times the sampler walks the dataset, each time in a fresh seeded order (RLT
	// RepeatRandomSampler; a workaround for HF GRPO epochs).
	ArtificialEpochs int `toml:"artificial_epochs"`
	// SFT only: maximum tokens per training sequence (TRL SFTConfig).
	MaxSeqLength int `toml:"max_seq_length"`
	// SFT only: pack several short sequences into one (TRL SFTConfig).
	Packing bool `toml:"packing"`

	// What to train with: "grpo" (`grpo run`) or "sft", supervised fine-tuning such as RLT's
	// teacher warm-up (`grpo sft`). GRPO-only rules are not checked for "sft".
	Algorithm string `toml:"algorithm" group:"Training arguments (transformers.TrainingArguments)"`
	// Directory for checkpoints, logs and the final model.
	OutputDir string `toml:"output_dir"`
	// Name of the run in logs. Unset: the base name of output_dir.
	RunName *string `toml:"run_name"`
	// Seed of data order, sampling and initialisation.
	Seed int64 `toml:"seed"`
	// Optimizer steps to run; -1 means num_train_epochs decides.
	MaxSteps int `toml:"max_steps"`
	// Epochs over the data when max_steps is -1 (fractions allowed).
	NumTrainEpochs float64 `toml:"num_train_epochs"`
	// Rows (completions) per process per micro-step.
	PerDeviceTrainBatchSize int `toml:"per_device_train_batch_size"`
	// Micro-steps per optimizer step. Ignored when train_batch_size is set (then it is derived).
	GradientAccumulationSteps int `toml:"gradient_accumulation_steps"`
	// Completions per optimizer step. When set, gradient_accumulation_steps = train_batch_size /
	// (per_device_train_batch_size × num_processes), which must divide evenly (RLT train.py).
	TrainBatchSize *int `toml:"train_batch_size"`
	// Peak learning rate of AdamW (GRPOConfig's default replaces TrainingArguments' 5e-5).
	LearningRate float64 `toml:"learning_rate"`
	// Learning-rate schedule (transformers get_scheduler names): linear, cosine,
	// cosine_with_restarts, polynomial, constant, constant_with_warmup, inverse_sqrt,
	// cosine_with_min_lr, cosine_warmup_with_min_lr, warmup_stable_decay.
	LRSchedulerType string `toml:"lr_scheduler_type"`
	// Extra arguments of the schedule, e.g. {num_cycles = 2} or {min_lr_rate = 0.1}.
	LRSchedulerKwargs map[string]any `toml:"lr_scheduler_kwargs"`
	// Fraction of the optimizer steps spent warming up linearly from 0 (0 to 1).
	WarmupRatio float64 `toml:"warmup_ratio"`
	// Warm-up steps; a whole number ≥ 1 wins over warmup_ratio, a value in (0, 1) is a ratio
	// (transformers ≥ 5).
	WarmupSteps float64 `toml:"warmup_steps"`
	// AdamW decoupled weight decay.
	WeightDecay float64 `toml:"weight_decay"`
	// AdamW β1: decay of the running mean of gradients.
	AdamBeta1 float64 `toml:"adam_beta1"`
	// AdamW β2: decay of the running mean of squared gradients.
	AdamBeta2 float64 `toml:"adam_beta2"`
	// AdamW ε, added to the root of the second moment for stability.
	AdamEpsilon float64 `toml:"adam_epsilon"`
	// Clip the global gradient norm to this value; 0 disables clipping.
	MaxGradNorm float64 `toml:"max_grad_norm"`
	// Keep weights and activations in bfloat16 (mixed precision, float32 master weights).
	BF16 bool `toml:"bf16"`
	// Log metrics every N optimizer steps (TRL's default 10).
	LoggingSteps int `toml:"logging_steps"`
	// When to save checkpoints: "steps" (every save_steps), "epoch" or "no".
	SaveStrategy string `toml:"save_strategy"`
	// Save a checkpoint every N optimizer steps (save_strategy "steps").
	SaveSteps int `toml:"save_steps"`
	// Keep at most this many checkpoints, deleting the oldest. Unset: keep all.
	SaveTotalLimit *int `toml:"save_total_limit"`
	// Save the trained model (and tokenizer) to output_dir at the end (RLT train.py).
	SaveFinalModel bool `toml:"save_final_model"`
	// Resume from a checkpoint: a checkpoint directory, or "latest" (TOML true also means
	// latest) for the newest checkpoint in output_dir. Unset: start fresh.
	ResumeFromCheckpoint *string `toml:"resume_from_checkpoint"`
	// Where metrics go besides the console and output_dir: ["none"], ["tensorboard"] or
	// ["all"] (= tensorboard).
	ReportTo []string `toml:"report_to"`

	// Completions sampled per prompt (the group size G); at least 2, and it must divide the
	// global batch.
	NumGenerations int `toml:"num_generations" group:"Generation"`
	// Prompt tokens kept for the loss (longer prompts are cut from the left).
	MaxPromptLength int `toml:"max_prompt_length"`
	// Maximum tokens generated per completion.
	MaxCompletionLength int `toml:"max_completion_length"`
	// Micro-steps served by one generation round (RLT): each round samples
	// per_device_train_batch_size × num_processes × this many completions, for higher
	// generation throughput. Must divide the gradient accumulation steps. Unset: 1.
	GenerationAggregationSteps *int `toml:"generation_aggregation_steps"`
	// Shuffle a round's prompts before generation to balance load across vLLM clients (less
	// prefix caching); results are put back in order.
	ShuffleGenerationInputs bool `toml:"shuffle_generation_inputs"`
	// Sampling temperature (higher = more random); must be > 0.
	Temperature float64 `toml:"temperature"`
	// Nucleus sampling: keep the most likely tokens up to this cumulative probability (0 < p ≤ 1;
	// 1 disables it).
	TopP float64 `toml:"top_p"`
	// Keep only the k most likely tokens. Unset: top-k filtering disabled.
	TopK *int `toml:"top_k"`
	// Drop tokens less likely than min_p × the top token's probability (0 to 1). Unset:
	// disabled.
	MinP *float64 `toml:"min_p"`
	// Penalty for tokens already in the prompt or completion (> 1 discourages repetition).
	RepetitionPenalty float64 `toml:"repetition_penalty"`

	// Generate with a vLLM engine that grpo runs on vllm_device (RLT's in-process engine);
	// needs backend = "vllm".
	UseVLLM bool `toml:"use_vllm" group:"vLLM"`
	// GPU of the managed vLLM engine, e.g. "cuda:1"; "auto" picks the GPU after the training
	// ones.
	VLLMDevice string `toml:"vllm_device"`
	// Fraction of the vLLM GPU's memory for weights and KV cache (0 < x ≤ 1).
	VLLMGPUMemoryUtilization float64 `toml:"vllm_gpu_memory_utilization"`
	// Data type of the vLLM engine: "auto", "float16" or "bfloat16".
	VLLMDtype string `toml:"vllm_dtype"`
	// Context length of the vLLM engine. Unset: the model's own.
	VLLMMaxModelLen *int `toml:"vllm_max_model_len"`
	// Generate with external vLLM servers (trl vllm-serve / RLT vllm_server.py); needs
	// backend = "vllm".
	UseVLLMServer bool `toml:"use_vllm_server"`
	// Host of the vLLM servers. Unset: the backend's default (localhost).
	VLLMHost *string `toml:"vllm_host"`
	// HTTP port of the first vLLM server; client i uses vllm_port + i.
	VLLMPort *int `toml:"vllm_port"`
	// Port of the weight-sync group of the first server; client i uses vllm_group_port + i.
	VLLMGroupPort int `toml:"vllm_group_port"`
	// Seconds to wait for the vLLM servers to come up.
	VLLMServerTimeout float64 `toml:"vllm_server_timeout"`
	// Number of vLLM servers; a round's prompts are split among them in contiguous chunks.
	NumVLLMClients int `toml:"num_vllm_clients"`
	// Regex that constrains generation (vLLM guided decoding). Unset: unconstrained.
	VLLMGuidedDecodingRegex *string `toml:"vllm_guided_decoding_regex"`
	// RLT's Ray vLLM engines. Not available in grpo: run vLLM servers instead.
	UseRay bool `toml:"use_ray"`
	// RLT Ray option (share training GPUs with generation). Accepted; no effect.
	RayShareTrainingDevices bool `toml:"ray_share_training_devices" grpo:"inert"`
	// RLT Ray option (tensor parallelism of each engine). Accepted; no effect.
	RayTensorParallelism int `toml:"ray_tensor_parallelism" grpo:"inert"`
	// RLT Ray option (number of engines). Accepted; no effect.
	RayDataParallelism *int `toml:"ray_data_parallelism" grpo:"inert"`
	// RLT Ray option (avoid duplicating weights). Accepted; no effect.
	RayNoMemoryDuplication bool `toml:"ray_no_memory_duplication" grpo:"inert"`
	// RLT Ray/vLLM option (no CUDA graphs). Accepted; no effect.
	EnforceEager bool `toml:"enforce_eager" grpo:"inert"`
	// RLT Ray/vLLM option (0 keep, 1 offload to CPU, 2 discard between rounds). Accepted; no
	// effect.
	VLLMSleepLevel int `toml:"vllm_sleep_level" grpo:"inert"`
	// RLT Ray/vLLM option (prefix caching of the Ray engines). Accepted; no effect.
	EnablePrefixCaching bool `toml:"enable_prefix_caching" grpo:"inert"`

	// KL coefficient β of the k3 penalty against the reference model (0 disables it and the
	// reference model).
	Beta float64 `toml:"beta" group:"GRPO objective"`
	// Loss reduction: "grpo" (RLT/TRL 0.15: token mean per sequence, then mean over sequences),
	// "bnpo" (token mean over the micro-batch), "dr_grpo" (token sum / (rows ×
	// max_completion_length)), "dapo" (token sum / tokens of the global batch).
	LossType string `toml:"loss_type"`
	// Lower clipping range ε of the ratio π/π_old (only matters when num_iterations > 1).
	Epsilon float64 `toml:"epsilon"`
	// Upper clipping range (DAPO's clip-higher uses 0.28). Unset: epsilon.
	EpsilonHigh *float64 `toml:"epsilon_high"`
	// Optimisation passes μ over each generated batch (TRL); 1 is RLT's single on-policy step.
	NumIterations int `toml:"num_iterations"`
	// Advantage scaling: "group" ((r − mean_g)/(std_g + 1e-4), RLT), "batch" (std of the whole
	// batch) or "none" (r − mean_g only, Dr. GRPO).
	ScaleRewards string `toml:"scale_rewards"`
	// Leave completions that hit max_completion_length without EOS out of the loss (DAPO).
	MaskTruncatedCompletions bool `toml:"mask_truncated_completions"`
	// Divide logits by the sampling temperature before log-softmax, for the policy and the
	// reference (RLT grpo.py:668).
	UnbiasLogProbabilities bool `toml:"unbias_log_probabilities"`
	// Weight of each reward plugin in the total reward, in [[rewards]] order. Unset: 1.0 each.
	RewardWeights []float64 `toml:"reward_weights"`

	// Move the reference model towards the policy every ref_model_sync_steps (TR-DPO).
	SyncRefModel bool `toml:"sync_ref_model" group:"Reference model"`
	// α of the sync: π_ref ← α·π_θ + (1 − α)·π_ref (0 to 1).
	RefModelMixupAlpha float64 `toml:"ref_model_mixup_alpha"`
	// τ of the sync: optimizer steps between reference updates.
	RefModelSyncSteps int `toml:"ref_model_sync_steps"`

	// DeepSpeed ZeRO-3: gather the policy's weights for generation. Accepted; no effect until
	// multi-GPU training.
	DS3GatherForGeneration bool `toml:"ds3_gather_for_generation" group:"Memory" grpo:"inert"`
	// Keep frozen models (reference, student, reward models) in host memory between uses.
	OffloadUntrainedModels bool `toml:"offload_untrained_models"`
	// Split each micro-batch into this many backward chunks. Excludes
	// backprop_accumulation_micro_batch_size. Unset: one chunk.
	BackpropAccumulationSteps *int `toml:"backprop_accumulation_steps"`
	// Rows per backward chunk (the most that fits in memory). Excludes
	// backprop_accumulation_steps. Unset: the whole micro-batch.
	BackpropAccumulationMicroBatchSize *int `toml:"backprop_accumulation_micro_batch_size"`

	// Hub id or directory of the frozen student that scores teacher explanations. Unset: the
	// reference model plays the student (RLT; it drifts with sync_ref_model).
	StudentModel *string `toml:"student_model" group:"Teacher reward (RLT TeacherKLBasedReward)"`
	// Options for loading the student, as model_init_kwargs.
	StudentModelInitKwargs map[string]any `toml:"student_model_init_kwargs"`
	// Score explanations with the reference model as teacher instead of the live policy.
	UseReferenceTeacherModel bool `toml:"use_reference_teacher_model"`
	// Keep the student on the accelerator even when offload_untrained_models is set.
	DisableStudentOffloading bool `toml:"disable_student_offloading"`
	// Coefficients of the student's solution log-prob reductions (r_SS = Σ a_k·reduction_k);
	// one value applies to every reduction.
	AnswerLogProbCoeff []float64 `toml:"answer_log_prob_coeff"`
	// Coefficients of the explanation KL reductions (r_KL = Σ c_k·reduction_k); one value
	// applies to every reduction.
	KLPenaltyRewardCoeff []float64 `toml:"kl_penalty_reward_coeff"`
	// Transform of the student log-probs before reduction: unset/"none" (x), "exp" (e^x) or
	// "exp_norm" (1 − e^−x).
	NormalizeLogProbFn *string `toml:"normalize_log_prob_fn"`
	// Transform of the per-token KL before reduction: unset/"none", "exp" or "exp_norm".
	NormalizeKLFn *string `toml:"normalize_kl_fn"`
	// Clamp transformed log-probs to ≥ −clip_log_prob. Unset: no clamp.
	ClipLogProb *float64 `toml:"clip_log_prob"`
	// Clamp transformed KL to ≤ clip_kl. Unset: no clamp.
	ClipKL *float64 `toml:"clip_kl"`
	// Reductions of the solution log-probs: mean, sum, min, max, median, first_quartile,
	// last_quartile.
	ReductionLogProbFn []string `toml:"reduction_log_prob_fn"`
	// Reductions of the explanation KL (same names as reduction_log_prob_fn).
	ReductionKLFn []string `toml:"reduction_kl_fn"`
	// Use Schulman's k3 estimate KL − 1 + e^−KL instead of the log-ratio k1.
	UseSchulmanKLEstimation bool `toml:"use_schulman_kl_estimation"`
	// Reward added when the explanation tags are missing (and used for unscorable samples).
	NotMatchedPenalty float64 `toml:"not_matched_penalty"`
	// Teacher log-probs at the sampling temperature (logits / temperature).
	UnbiasTeacherLogProbs bool `toml:"unbias_teacher_log_probs"`
	// Temperature of the student's log-probs (must be > 0). Unset: 1.
	UnbiasStudentLogProbsTemp *float64 `toml:"unbias_student_log_probs_temp"`
	// KL term uses teacher − student log-probs (true) or the student's cross-entropy alone.
	IncludeTeacherThinkEntropy bool `toml:"include_teacher_think_entropy"`
	// Weight of sampled student correctness. Must stay 0: RLT does not implement it.
	CorrectGenerationCoeff float64 `toml:"correct_generation_coeff"`
	// Probability of writing each student chat to <output_dir>/teacher_chats/log.txt.
	LoggingProb float64 `toml:"logging_prob"`

	// Tokens of the student's diagnostic probe; ≤ 0 disables probing ({approach} = "").
	MaxProbeTokens int `toml:"max_probe_tokens" group:"Adaptive teaching"`
	// Multiplier of the reward when teaching makes the student worse (Δ < 0).
	DegradationPenaltyMultiplier float64 `toml:"degradation_penalty_multiplier"`
	// Weight of the bonus for short teaching that helps (0 turns it off).
	EfficiencyWeight float64 `toml:"efficiency_weight"`
	// Prompt asking the student how it would approach the question. Needs {question}.
	StudentDiagnosticTemplate string `toml:"student_diagnostic_template"`
	// Prompt for the teacher, given the student's approach. Needs {question} and {approach};
	// {solution} is optional.
	TeacherAdaptiveTemplate string `toml:"teacher_adaptive_template"`
	// Prompt for the student's solution after the teaching. Needs {question} and {teaching}.
	StudentWithTeachingTemplate string `toml:"student_with_teaching_template"`
	// Prompt for the student's baseline solution. Needs {question}.
	StudentBaselineTemplate string `toml:"student_baseline_template"`

	// Print per-step debugging details (timings, memory).
	ActivateDebuggingLogs bool `toml:"activate_debugging_logs" group:"Logging"`
	// Log a table of sampled completions with their rewards every logging_steps.
	LogCompletions bool `toml:"log_completions"`
	// Probability of appending each completion to <output_dir>/stored_completions/<step>.csv
	// on logging steps. Unset: none are saved.
	SaveCompletionsProbability *float64 `toml:"save_completions_probability"`

	// Reward plugins, as [[rewards]] tables: plugin = "x.wasm" (runs in wazero), an executable
	// path (a go-plugin process) or "builtin:NAME"; settings = {...} is passed to the plugin.
	Rewards []PluginSpec `toml:"rewards" group:"Plugins"`
	// Template plugin that renders prompts, as a [template] table. plugin = "": built-in
	// templates (the *_template keys).
	Template PluginSpec `toml:"template"`
	// Generation backend: "local" (GoMLX sampler), "vllm" (vLLM servers) or an executable
	// path (a third-party backend process).
	Backend string `toml:"backend"`
	// Settings passed to the generation backend.
	BackendSettings map[string]any `toml:"backend_settings"`
	// Seconds one plugin call may take before it is abandoned.
	PluginTimeout float64 `toml:"plugin_timeout"`
	// Memory cap of each WASM plugin instance, in MiB.
	PluginMemoryLimitMB int `toml:"plugin_memory_limit_mb"`
	// Where WASM plugins run: "inprocess" (wazero in the trainer) or "process" (a separate
	// process, so a crash cannot take the trainer down).
	PluginSandbox string `toml:"plugin_sandbox"`
	// When a reward plugin fails: "error" (stop training), "skip_batch" (skip the step) or
	// "zero" (score the batch 0 and go on).
	RewardFailure string `toml:"reward_failure"`

	// GoMLX backend, e.g. "go" or "xla:/abs/path/xla_cuda_plugin.so". Empty: the GOMLX_BACKEND
	// environment variable, else "go".
	GoMLXBackend string `toml:"gomlx_backend" group:"Compute and distribution"`
	// Data-parallel training processes (one per GPU). Multi-GPU training comes later.
	NumProcesses int `toml:"num_processes"`
	// ZeRO stage of sharded data parallelism (0 to 3). Accepted; no effect until multi-GPU
	// training.
	ZeroStage int `toml:"zero_stage" grpo:"inert"`
	// Where ZeRO keeps optimizer state: "none" or "cpu". Accepted; no effect yet.
	OffloadOptimizerDevice string `toml:"offload_optimizer_device" grpo:"inert"`
	// Where ZeRO-3 keeps parameters: "none" or "cpu". Accepted; no effect yet.
	OffloadParamDevice string `toml:"offload_param_device" grpo:"inert"`

	// origins records where each key got its value ("file:line", "command line", ...);
	// keys absent from it have their default.
	origins map[string]string
	// sources lists the files and override sets composed into this config, in order.
	sources []string
}
