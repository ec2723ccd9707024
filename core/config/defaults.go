package config

// Built-in texts of the adaptive-teaching templates (research/rlt.md §7.1 item 8). Placeholders
// are replaced in one pass, never printf-style, so LaTeX such as \boxed{} in a question or a
// template survives.
const (
	DefaultStudentDiagnosticTemplate = "Question: {question}\n\n" +
		"Briefly describe how you would approach this problem."
	DefaultTeacherAdaptiveTemplate = "Question: {question}\n\n" +
		"A student plans to approach it like this:\n{approach}\n\n" +
		"Write a step-by-step explanation that builds on what is right in this approach and " +
		"corrects what is wrong."
	DefaultStudentWithTeachingTemplate = "Question: {question}\n\n" +
		"A teacher's explanation:\n{teaching}\n\nNow give the solution."
	DefaultStudentBaselineTemplate = "Question: {question}\n\nGive the solution."
)

// Default returns a new Config holding every default: the seed's GRPOConfig defaults
// (shared/spec/config-api.md), transformers' TrainingArguments defaults with TRL's
// logging_steps, and the teacher-reward defaults of RLT's reward_cfg/teacher_logprob_kl.yaml.
func Default() *Config {
	return &Config{
		// Model.
		RemoveUnusedColumns: false,

		// Data.
		DatasetFormat:     "auto",
		TrainSplit:        "train",
		PromptColumn:      "prompt",
		QuestionColumn:    "question",
		CompletionColumn:  "completion",
		ApplyChatTemplate: true,
		ArtificialEpochs:  1,
		MaxSeqLength:      1024,

		// Training arguments.
		Algorithm:                 "grpo",
		OutputDir:                 "output",
		Seed:                      42,
		MaxSteps:                  -1,
		NumTrainEpochs:            3.0,
		PerDeviceTrainBatchSize:   8,
		GradientAccumulationSteps: 1,
		LearningRate:              1e-6,
		LRSchedulerType:           "linear",
		AdamBeta1:                 0.9,
		AdamBeta2:                 0.999,
		AdamEpsilon:               1e-8,
		MaxGradNorm:               1.0,
		LoggingSteps:              10,
		SaveStrategy:              "steps",
		SaveSteps:                 500,
		SaveFinalModel:            true,
		ReportTo:                  []string{"none"},

		// Generation.
		NumGenerations:      8,
		MaxPromptLength:     512,
		MaxCompletionLength: 256,
		Temperature:         0.7,
		TopP:                1.0,
		RepetitionPenalty:   1.0,

		// vLLM.
		VLLMDevice:               "auto",
		VLLMGPUMemoryUtilization: 0.9,
		VLLMDtype:                "auto",
		VLLMGroupPort:            51216,
		VLLMServerTimeout:        120.0,
		NumVLLMClients:           1,
		RayTensorParallelism:     1,
		EnforceEager:             true,
		VLLMSleepLevel:           1,

		// GRPO objective.
		Beta:          0.04,
		LossType:      "grpo",
		Epsilon:       0.2,
		NumIterations: 1,
		ScaleRewards:  "group",

		// Reference model.
		RefModelMixupAlpha: 0.9,
		RefModelSyncSteps:  64,

		// Memory.
		DS3GatherForGeneration: true,

		// Teacher reward (reward_cfg/teacher_logprob_kl.yaml, teacher_grpo.yaml).
		AnswerLogProbCoeff:         []float64{5, 0.05},
		KLPenaltyRewardCoeff:       []float64{5, 0.05},
		ClipLogProb:                ptr(100000.0),
		ClipKL:                     ptr(100000.0),
		ReductionLogProbFn:         []string{"mean", "min"},
		ReductionKLFn:              []string{"mean", "max"},
		NotMatchedPenalty:          -1.0,
		UnbiasTeacherLogProbs:      true,
		UnbiasStudentLogProbsTemp:  ptr(0.7),
		IncludeTeacherThinkEntropy: true,
		LoggingProb:                0.1,

		// Adaptive teaching.
		MaxProbeTokens:               50,
		DegradationPenaltyMultiplier: 2.0,
		EfficiencyWeight:             1.0,
		StudentDiagnosticTemplate:    DefaultStudentDiagnosticTemplate,
		TeacherAdaptiveTemplate:      DefaultTeacherAdaptiveTemplate,
		StudentWithTeachingTemplate:  DefaultStudentWithTeachingTemplate,
		StudentBaselineTemplate:      DefaultStudentBaselineTemplate,

		// Plugins.
		Backend:             "local",
		PluginTimeout:       30.0,
		PluginMemoryLimitMB: 512,
		PluginSandbox:       "inprocess",
		RewardFailure:       "error",

		// Compute and distribution.
		NumProcesses:           1,
		OffloadOptimizerDevice: "none",
		OffloadParamDevice:     "none",
	}
}

func ptr[T any](v T) *T { return &v }
