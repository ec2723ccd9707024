// Package config holds grpo's whole run configuration: the GRPOConfig of the seed spec and
// SakanaAI's RLT (itself a transformers TrainingArguments), the TRL additions (loss_type,
// epsilon, scale_rewards, ...), RLT's teacher-reward knobs, and the plugin selection (reward
// plugins, template plugin, generation backend). It owns loading, composing, overriding,
// validating and printing configurations. It knows nothing of models, plugins or backends.
//
// # Keys
//
// Config is one flat struct: every key lives in one namespace, as with Hydra `_global_`
// packages in RLT. TOML keys are the GRPOConfig/TrainingArguments names (snake_case); Go
// fields are their CamelCase with Go initialisms (use_vllm_server → UseVLLMServer, bf16 →
// BF16). Defaults are the spec's (temperature 0.7, beta 0.04, num_generations 8, ...); a
// Python None default is a nil pointer, slice or map. `grpo config print` lists every key with
// its documentation, which is the doc comment of its field in config.go.
//
// # Composition
//
// A configuration is composed like RLT's Hydra tree, later layers winning:
//
//	Default() < trainer < model < data < distributed < run file < key=value overrides
//
// A run file selects group files with `model = "qwen2.5-7b-instruct"` (→
// configs/model/qwen2.5-7b-instruct.toml) and the like; see Composer. Tables such as
// model_init_kwargs merge key by key across layers; other values are replaced. Command-line
// overrides use TOML value syntax (reward_weights=[1.0,0.5],
// model_init_kwargs={torch_dtype="bfloat16"}); a string key also takes a bare word
// (model_name_or_path=Qwen/Qwen2.5-7B), `key=null` unsets a key, `model=NAME` switches a group,
// and dotted keys reach into tables (model_init_kwargs.torch_dtype=bfloat16).
//
// # Errors
//
// Load reports every problem of every file at once as ValidationErrors: TOML syntax errors
// with line and column, unknown keys with their line and the closest known key ("did you mean
// `num_generations`?"), wrong types with the line and the expected type, and group names that
// resolve to no file with the paths tried. Validate then checks values and cross-field rules
// (num_generations divides the global batch, reward_weights matches the reward plugins,
// templates contain their variables, sampling ranges, ...) and also returns them all at once,
// each placed at the file and line that set the offending key. Warnings lists what is allowed
// but probably unintended.
package config
