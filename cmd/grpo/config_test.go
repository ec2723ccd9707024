package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runGRPO runs the CLI with args and returns stdout, stderr and the error.
func runGRPO(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.Run(context.Background(), append([]string{"grpo"}, args...))
	return out.String(), errOut.String(), err
}

// TestConfigPrintAppliesOverrides is the acceptance command.
func TestConfigPrintAppliesOverrides(t *testing.T) {
	out, _, err := runGRPO(t, "config", "print", "../../configs/run/teacher_rlt.toml",
		"learning_rate=5e-6", "num_generations=16")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nlearning_rate = 5e-06  # command line `learning_rate=5e-6`\n",
		"\nnum_generations = 16  # command line `num_generations=16`\n",
		"\nstudent_model = \"bespokelabs/Bespoke-Stratos-7B\"  # ../../configs/run/teacher_rlt.toml:",
		"\nmodel_init_kwargs = {torch_dtype = \"bfloat16\"}  # ../../configs/model/qwen2.5-7b-instruct.toml:",
		"\n# [[rewards]] from: ../../configs/run/teacher_rlt.toml:",
		"\n# Sampling temperature (higher = more random); must be > 0.\ntemperature = 0.7",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestConfigPrintDefaults(t *testing.T) {
	out, errOut, err := runGRPO(t, "config", "print", "--brief")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\ntemperature = 0.7\n", "\nbeta = 0.04\n", "\nnum_generations = 8\n",
		"\n# generation_aggregation_steps = null\n", "\nbackend = \"local\"\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "\n# Sampling temperature") {
		t.Error("--brief printed documentation")
	}
	if !strings.Contains(errOut, "this configuration (defaults) does not validate (3 problems); `grpo config validate` with the same arguments explains") {
		t.Errorf("stderr = %q, want the note that defaults alone do not validate", errOut)
	}
}

func TestConfigValidate(t *testing.T) {
	out, _, err := runGRPO(t, "config", "validate", "../../configs/run/teacher_rlt.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"teacher_rlt.toml: valid",
		"optimizer step: 1024 completions = 16 prompts × num_generations 64",
		"generation round: 256 completions (4 prompts); 4 rounds per optimizer step",
		"rewards: builtin:teacher (weight 1); backend: vllm"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	_, _, err = runGRPO(t, "config", "validate", "../../configs/run/teacher_rlt.toml",
		"num_generations=48", "--plugin", "builtin:format", "reward_weights=[1,2,3]")
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"2 configuration problems",
		"command line `num_generations=48`: num_generations = 48: must divide the global batch 1024",
		"reward_weights has 3 values but 2 reward plugins are configured"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestConfigFlagsAndEnv(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "my-backend")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GRPO_BACKEND", exe)
	out, _, err := runGRPO(t, "config", "print", "--brief", "../../configs/run/teacher_sft.toml",
		"--plugin", "a.wasm", "--plugin=builtin:b")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nbackend = \"" + exe + "\"  # --backend\n",
		"\n# [[rewards]] from: --plugin\n[[rewards]]\nplugin = \"a.wasm\"\n[[rewards]]\nplugin = \"builtin:b\"\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestConfigArgumentErrors(t *testing.T) {
	_, _, err := runGRPO(t, "config", "print", "../../configs/run/teacher_rlt.toml", "oops")
	if err == nil || !strings.Contains(err.Error(), `argument "oops": expected key=value; the run file, if any, must come first`) {
		t.Errorf("stray argument: %v", err)
	}
	_, _, err = runGRPO(t, "config", "validate", "configs/run/missing.toml")
	if err == nil || !strings.Contains(err.Error(), "run file configs/run/missing.toml not found (tried ") {
		t.Errorf("missing run file: %v", err)
	}
}

func TestConfigValidateWarnsOfMissingBuiltins(t *testing.T) {
	_, errOut, err := runGRPO(t, "config", "validate", "../../configs/run/teacher_rlt.toml",
		`rewards=[{plugin="builtin:no-such-reward"}]`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "warning: [[rewards]] #1: builtin:no-such-reward is not built into this binary (built-in rewards: ") {
		t.Errorf("stderr = %q", errOut)
	}
}
