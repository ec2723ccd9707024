package config

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// specDefaults is the seed's GRPOConfig (shared/spec/config-api.md), typed in by hand from the
// spec; nil means the Python default None.
var specDefaults = map[string]any{
	"model_init_kwargs":                      nil,
	"remove_unused_columns":                  false,
	"num_generations":                        8,
	"max_prompt_length":                      512,
	"max_completion_length":                  256,
	"generation_aggregation_steps":           nil,
	"temperature":                            0.7,
	"top_p":                                  1.0,
	"top_k":                                  nil,
	"min_p":                                  nil,
	"repetition_penalty":                     1.0,
	"use_vllm":                               false,
	"vllm_device":                            "auto",
	"vllm_gpu_memory_utilization":            0.9,
	"vllm_dtype":                             "auto",
	"vllm_max_model_len":                     nil,
	"use_vllm_server":                        false,
	"vllm_host":                              nil,
	"vllm_port":                              nil,
	"vllm_server_timeout":                    120.0,
	"num_vllm_clients":                       1,
	"learning_rate":                          1e-6,
	"beta":                                   0.04,
	"reward_weights":                         nil,
	"sync_ref_model":                         false,
	"ref_model_mixup_alpha":                  0.9,
	"ref_model_sync_steps":                   64,
	"ds3_gather_for_generation":              true,
	"offload_untrained_models":               false,
	"backprop_accumulation_steps":            nil,
	"backprop_accumulation_micro_batch_size": nil,
	"max_probe_tokens":                       50,
	"degradation_penalty_multiplier":         2.0,
	"efficiency_weight":                      1.0,
	"activate_debugging_logs":                false,
	"log_completions":                        false,
	"save_completions_probability":           nil,
	"artificial_epochs":                      1,
}

// briefDefaults are the defaults the team agreed on for the keys beyond the spec
// (transformers TrainingArguments, TRL, RLT's reward_cfg/teacher_logprob_kl.yaml, plugins).
var briefDefaults = map[string]any{
	"output_dir": "output", "seed": int64(42), "max_steps": -1, "num_train_epochs": 3.0,
	"per_device_train_batch_size": 8, "gradient_accumulation_steps": 1, "lr_scheduler_type": "linear",
	"warmup_ratio": 0.0, "warmup_steps": 0.0, "lr_scheduler_kwargs": nil, "weight_decay": 0.0, "adam_beta1": 0.9,
	"adam_beta2": 0.999, "adam_epsilon": 1e-8, "max_grad_norm": 1.0, "bf16": false,
	"logging_steps": 10, "save_steps": 500, "save_total_limit": nil,
	"resume_from_checkpoint": nil, "report_to": []string{"none"}, "train_batch_size": nil,
	"gradient_checkpointing": false, "save_final_model": true, "gomlx_backend": "",
	"num_processes": 1, "model_name_or_path": "", "tokenizer_kwargs": nil,
	"dataset_id_or_path": "", "train_split": "train", "val_split": nil,
	"completion_only_training": false, "keep_columns": nil, "prompt_column": "prompt",
	"question_column": "question", "prompt_template": nil, "dataset_format": "auto",
	"completion_column": "completion", "system_prompt": nil,
	"apply_chat_template": true,
	"loss_type":           "grpo", "epsilon": 0.2, "epsilon_high": nil, "num_iterations": 1,
	"scale_rewards": "group", "mask_truncated_completions": false,
	"unbias_log_probabilities": false, "shuffle_generation_inputs": false,
	"vllm_group_port": 51216, "vllm_guided_decoding_regex": nil,
	"answer_log_prob_coeff": []float64{5, 0.05}, "kl_penalty_reward_coeff": []float64{5, 0.05},
	"normalize_log_prob_fn": nil, "normalize_kl_fn": nil, "clip_log_prob": 100000.0,
	"clip_kl": 100000.0, "reduction_log_prob_fn": []string{"mean", "min"},
	"reduction_kl_fn": []string{"mean", "max"}, "use_schulman_kl_estimation": false,
	"not_matched_penalty": -1.0, "unbias_teacher_log_probs": true,
	"unbias_student_log_probs_temp": 0.7, "include_teacher_think_entropy": true,
	"correct_generation_coeff": 0.0, "student_model": nil, "student_model_init_kwargs": nil,
	"use_reference_teacher_model": false, "logging_prob": 0.1, "disable_student_offloading": false,
	"rewards": []PluginSpec(nil), "template": PluginSpec{}, "backend": "local",
	"backend_settings": nil, "plugin_timeout": 30.0, "plugin_memory_limit_mb": 512,
	"plugin_sandbox": "inprocess", "reward_failure": "error",
	"use_ray": false, "vllm_sleep_level": 1, "enforce_eager": true,
}

// valueOf returns key's value in c, dereferencing pointers (nil for an unset key).
func valueOf(t *testing.T, c *Config, key string) any {
	t.Helper()
	f := lookup(key)
	if f == nil {
		t.Fatalf("key %q does not exist", key)
	}
	v := reflect.ValueOf(c).Elem().Field(f.index)
	if v.Kind() == reflect.Pointer || v.Kind() == reflect.Map {
		if v.IsNil() {
			return nil
		}
		if v.Kind() == reflect.Pointer {
			return v.Elem().Interface()
		}
	}
	return v.Interface()
}

func TestDefaultsMatchSpec(t *testing.T) {
	c := Default()
	for _, table := range []map[string]any{specDefaults, briefDefaults} {
		for key, want := range table {
			got := valueOf(t, c, key)
			if f := lookup(key); want == nil && f.typ.Kind() == reflect.Slice {
				if !reflect.ValueOf(got).IsNil() {
					t.Errorf("%s: default %v, want unset (None)", key, got)
				}
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: default %#v, want %#v", key, got, want)
			}
		}
	}
}

func TestTemplateDefaultsContainTheirVariables(t *testing.T) {
	c := Default()
	for _, spec := range c.templateSpecs() {
		used := Placeholders(spec.text)
		for _, r := range spec.required {
			if !strings.Contains(spec.text, "{"+r+"}") {
				t.Errorf("%s default %q lacks {%s}", spec.key, spec.text, r)
			}
		}
		if len(used) != len(spec.required) {
			t.Errorf("%s default uses %v, want exactly %v", spec.key, used, spec.required)
		}
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("defaults give warnings: %v", w)
	}
}

func TestEveryKeyHasDocAndGroup(t *testing.T) {
	for _, f := range fields() {
		if len(f.doc) < 15 {
			t.Errorf("%s: doc comment missing or too short (%q)", f.key, f.doc)
		}
		if f.group == "" {
			t.Errorf("%s: no group", f.key)
		}
	}
}

// TestPrintListsEverySpecKey: `config print` (no file) shows each seed parameter with the
// seed's default, unset ones as `# key = null`.
func TestPrintListsEverySpecKey(t *testing.T) {
	var buf bytes.Buffer
	if err := Default().WriteTOML(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	want := map[string]string{
		"temperature": "temperature = 0.7", "beta": "beta = 0.04", "num_generations": "num_generations = 8",
		"learning_rate": "learning_rate = 1e-06", "ref_model_mixup_alpha": "ref_model_mixup_alpha = 0.9",
		"ref_model_sync_steps": "ref_model_sync_steps = 64", "top_k": "# top_k = null",
		"vllm_server_timeout": "vllm_server_timeout = 120.0", "max_probe_tokens": "max_probe_tokens = 50",
		"ds3_gather_for_generation": "ds3_gather_for_generation = true",
	}
	for key := range specDefaults {
		line, ok := want[key]
		if !ok {
			line = key + " = "
			if specDefaults[key] == nil {
				line = "# " + key + " = null"
			}
		}
		if !strings.Contains(out, "\n"+line) {
			t.Errorf("config print lacks %q", line)
		}
	}
}
