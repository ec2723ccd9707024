package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree writes files (path → content) under a new temporary directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// problems returns err as ValidationErrors, failing the test for any other error.
func problems(t *testing.T, err error) ValidationErrors {
	t.Helper()
	var v ValidationErrors
	if !errors.As(err, &v) {
		t.Fatalf("want ValidationErrors, got %T: %v", err, err)
	}
	return v
}

// wantProblem checks that err holds a problem whose text contains every part.
func wantProblem(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one containing %q", parts)
	}
	for _, p := range problems(t, err) {
		ok := true
		for _, part := range parts {
			ok = ok && strings.Contains(p.String(), part)
		}
		if ok {
			return
		}
	}
	t.Errorf("no problem contains all of %q; got:\n%v", parts, err)
}

// TestLayerOrder: defaults < trainer < model < data < distributed < run file < overrides.
func TestLayerOrder(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"trainer/t.toml":     "seed = 1\nlogging_steps = 1\nsave_steps = 1\nwarmup_steps = 1\nmax_steps = 1\n",
		"model/m.toml":       "logging_steps = 2\nsave_steps = 2\nwarmup_steps = 2\nmax_steps = 2\n",
		"data/d.toml":        "save_steps = 3\nwarmup_steps = 3\nmax_steps = 3\n",
		"distributed/z.toml": "warmup_steps = 4\nmax_steps = 4\nzero_stage = 1\n",
		"run/r.toml": "model = \"m\"\ntrainer = \"t\"\ndistributed = \"z\"\ndata = \"d\"\n" +
			"max_steps = 5\nnum_processes = 5\n",
	})
	c, err := Load(filepath.Join(dir, "run/r.toml"), "num_processes=6")
	if err != nil {
		t.Fatal(err)
	}
	got := []int{int(c.Seed), c.LoggingSteps, c.SaveSteps, int(c.WarmupSteps), c.MaxSteps, c.NumProcesses}
	want := []int{1, 2, 3, 4, 5, 6}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("layer %d: got %v, want %v", i+1, got, want)
			break
		}
	}
	if o := c.Origin("save_steps"); o != filepath.Join(dir, "data/d.toml")+":1" {
		t.Errorf("origin of save_steps = %q", o)
	}
	if o := c.Origin("num_processes"); o != "command line `num_processes=6`" {
		t.Errorf("origin of num_processes = %q", o)
	}
	if n := len(c.Sources()); n != 6 {
		t.Errorf("sources = %q, want 4 group files, the run file and the overrides", c.Sources())
	}
}

func TestOverrideSwitchesGroup(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"model/a.toml": "model_name_or_path = \"org/a\"\n",
		"model/b.toml": "model_name_or_path = \"org/b\"\n",
		"run/r.toml":   "model = \"a\"\n",
	})
	run := filepath.Join(dir, "run/r.toml")
	c, err := Load(run, "model=b")
	if err != nil {
		t.Fatal(err)
	}
	if c.ModelNameOrPath != "org/b" {
		t.Errorf("model=b gave %q", c.ModelNameOrPath)
	}
	c, err = Load(run, "model=null")
	if err != nil {
		t.Fatal(err)
	}
	if c.ModelNameOrPath != "" {
		t.Errorf("model=null kept %q", c.ModelNameOrPath)
	}
	// A group may also be a path, relative to the file naming it.
	c, err = Load(run, "model="+filepath.Join(dir, "model/a.toml"))
	if err != nil || c.ModelNameOrPath != "org/a" {
		t.Errorf("model by path: %v, %q", err, c.ModelNameOrPath)
	}
}

func TestConfigDirsSearchedFirst(t *testing.T) {
	mine := writeTree(t, map[string]string{"model/m.toml": "model_name_or_path = \"mine\"\n"})
	dir := writeTree(t, map[string]string{
		"model/m.toml": "model_name_or_path = \"theirs\"\n",
		"run/r.toml":   "model = \"m\"\n",
	})
	c, err := Composer{ConfigDirs: []string{mine}}.Load(filepath.Join(dir, "run/r.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ModelNameOrPath != "mine" {
		t.Errorf("got %q, want the --config-dir file", c.ModelNameOrPath)
	}
}

func TestMissingRunFileSaysPathTried(t *testing.T) {
	_, err := Load("no/such/run.toml")
	abs, _ := filepath.Abs("no/such/run.toml")
	wantProblem(t, err, "run file no/such/run.toml not found", "tried "+abs)
}

func TestGroupNamingNoFileSaysPathsTried(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"model/qwen.toml": "model_name_or_path = \"q\"\n",
		"run/r.toml":      "\nmodel = \"qwen3\"\n",
	})
	run := filepath.Join(dir, "run/r.toml")
	_, err := Load(run)
	wantProblem(t, err, run+":2", `model = "qwen3" names no file`,
		filepath.Join(dir, "model/qwen3.toml"), filepath.Join("configs", "model", "qwen3.toml"),
		"available model configs: qwen")
	_, err = Load(run, "data=nope.toml")
	wantProblem(t, err, "command line `data=nope.toml`", `data = "nope.toml" names no file; tried nope.toml`)
}

func TestUnknownKeyNamesFileLineAndSuggestion(t *testing.T) {
	dir := writeTree(t, map[string]string{"r.toml": "seed = 1\n\nnum_generation = 4\nlr = 0.1\n" +
		"[[rewards]]\nplugn = \"x.wasm\"\n"})
	run := filepath.Join(dir, "r.toml")
	_, err := Load(run)
	wantProblem(t, err, run+":3", "unknown key `num_generation` (did you mean `num_generations`?)")
	wantProblem(t, err, run+":4", "unknown key `lr` (did you mean `learning_rate`?)")
	wantProblem(t, err, run+":6", "unknown key `rewards.plugn` (did you mean `plugin`?)")
	if n := len(problems(t, err)); n != 3 {
		t.Errorf("%d problems, want 3 (all at once):\n%v", n, err)
	}
}

func TestWrongTypeNamesFileLineAndExpectedType(t *testing.T) {
	dir := writeTree(t, map[string]string{"r.toml": "temperature = \"hot\"\nnum_generations = 8.5\n" +
		"use_vllm = 1\nmodel_init_kwargs = 3\nreward_weights = [\"a\"]\n[[rewards]]\nplugin = 3\n" +
		"[template]\nplugin = \"t.wasm\"\nsettings = \"x\"\n"})
	run := filepath.Join(dir, "r.toml")
	_, err := Load(run)
	wantProblem(t, err, run+":1", `temperature: expected a number, got a string ("hot")`)
	wantProblem(t, err, run+":2", "num_generations: expected an integer, got a float (8.5)")
	wantProblem(t, err, run+":3", "use_vllm: expected a boolean (true or false), got an integer (1)")
	wantProblem(t, err, run+":4", "model_init_kwargs: expected a table, got an integer (3)")
	wantProblem(t, err, run+":7", `rewards #1: plugin must be a string (a .wasm path, an executable path or "builtin:NAME"), got an integer`)
	wantProblem(t, err, run+":10", "template: settings must be a table (settings = {key = value, ...}), got a string")
	wantProblem(t, err, run+":5", "reward_weights: incompatible types: TOML value has type string; "+
		"destination has type float (reward_weights expects a number or an array of numbers)")
}

func TestSyntaxErrorHasLineAndColumn(t *testing.T) {
	dir := writeTree(t, map[string]string{"r.toml": "seed = 1\ntemperature = = 2\n"})
	run := filepath.Join(dir, "r.toml")
	_, err := Load(run)
	wantProblem(t, err, run+":2:", "TOML syntax error")
}

func TestGroupKeyOnlyInRunFile(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"model/m.toml": "data = \"d\"\n",
		"run/r.toml":   "model = \"m\"\n",
	})
	_, err := Load(filepath.Join(dir, "run/r.toml"))
	wantProblem(t, err, "model/m.toml:1", "data = ... selects a group file and is allowed only in a run file")
}

func TestTablesMergeAcrossLayers(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"model/m.toml": "model_init_kwargs = {torch_dtype = \"bfloat16\", use_cache = false}\n",
		"run/r.toml":   "model = \"m\"\n[model_init_kwargs]\nuse_cache = true\n",
	})
	c, err := Load(filepath.Join(dir, "run/r.toml"), "model_init_kwargs.attn=\"sdpa\"")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"torch_dtype": "bfloat16", "use_cache": true, "attn": "sdpa"}
	if !mapsEqual(c.ModelInitKwargs, want) {
		t.Errorf("model_init_kwargs = %v, want %v", c.ModelInitKwargs, want)
	}
}

func mapsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestTemplatePluginSettingsResetWhenPluginChanges(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"trainer/t.toml": "[template]\nplugin = \"a.wasm\"\nsettings = {x = 1}\n",
		"run/r.toml":     "trainer = \"t\"\n[template]\nsettings = {y = 2}\n",
	})
	run := filepath.Join(dir, "run/r.toml")
	c, err := Load(run)
	if err != nil {
		t.Fatal(err)
	}
	if c.Template.Plugin != "a.wasm" || !mapsEqual(c.Template.Settings, map[string]any{"x": int64(1), "y": int64(2)}) {
		t.Errorf("same plugin: template = %+v, want merged settings", c.Template)
	}
	c, err = Load(run, "template.plugin=b.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if c.Template.Plugin != "b.wasm" || c.Template.Settings != nil {
		t.Errorf("other plugin: template = %+v, want b.wasm without a.wasm's settings", c.Template)
	}
}

func TestListConveniences(t *testing.T) {
	dir := writeTree(t, map[string]string{"r.toml": "report_to = \"tensorboard\"\n" +
		"answer_log_prob_coeff = 2\nresume_from_checkpoint = true\n"})
	c, err := Load(filepath.Join(dir, "r.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ReportTo) != 1 || c.ReportTo[0] != "tensorboard" {
		t.Errorf("report_to = %q", c.ReportTo)
	}
	if len(c.AnswerLogProbCoeff) != 1 || c.AnswerLogProbCoeff[0] != 2 {
		t.Errorf("answer_log_prob_coeff = %v", c.AnswerLogProbCoeff)
	}
	if !c.ResumeLatest() || c.ResumePath() != "" {
		t.Errorf("resume_from_checkpoint = true: latest=%v path=%q", c.ResumeLatest(), c.ResumePath())
	}
}

// TestShippedConfigs loads every shipped run file and group file; run files must validate.
func TestShippedConfigs(t *testing.T) {
	runs, _ := filepath.Glob("../../configs/run/*.toml")
	if len(runs) < 2 {
		t.Fatalf("found run files %v, want teacher_rlt and teacher_sft", runs)
	}
	for _, run := range runs {
		c, err := Load(run)
		if err != nil {
			t.Errorf("%s: %v", run, err)
			continue
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", run, err)
		}
		if w := c.Warnings(); len(w) > 0 {
			t.Errorf("%s: warnings %q", run, w)
		}
	}
	groups, _ := filepath.Glob("../../configs/*/*.toml")
	for _, g := range groups {
		if filepath.Base(filepath.Dir(g)) == "run" {
			continue
		}
		d, p := readDocument(g, "group file")
		if p != nil {
			t.Errorf("%s: %v", g, p)
			continue
		}
		if ps := applyDocument(Default(), d, false); len(ps) > 0 {
			t.Errorf("%s: %v", g, ValidationErrors(ps))
		}
	}
	for _, want := range []string{"trainer/grpo", "trainer/sft", "model/qwen2.5-7b-instruct",
		"model/llama3-70b", "data/bespoke_stratos", "data/custom_jsonl", "distributed/zero1", "distributed/zero3"} {
		if _, err := os.Stat("../../configs/" + want + ".toml"); err != nil {
			t.Errorf("configs/%s.toml: %v", want, err)
		}
	}
}

// TestTeacherRLTValues checks the run file carries RLT's teacher_rlt.yaml values.
func TestTeacherRLTValues(t *testing.T) {
	c, err := Load("../../configs/run/teacher_rlt.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.NumGenerations != 64 || c.GlobalBatch() != 1024 || c.GenerationBatch() != 256 ||
		c.LearningRate != 1e-6 || c.RefModelSyncSteps != 32 || c.Temperature != 0.7 ||
		c.MaxPromptLength != 16384 || c.MaxCompletionLength != 16384 || c.LRSchedulerType != "constant" ||
		c.KLPenaltyRewardCoeff[0] != 3 || c.AnswerLogProbCoeff[1] != 0.01 || *c.StudentModel != "bespokelabs/Bespoke-Stratos-7B" ||
		*c.VLLMPort != 8765 || !c.UseVLLMServer || !c.ShuffleGenerationInputs || !c.UnbiasLogProbabilities {
		t.Errorf("teacher_rlt.toml does not match RLT's run file: %+v", c)
	}
	// With RLT's 4 training processes, gradient accumulation is 256 and one round fills a step.
	c.NumProcesses = 4
	if c.GradientAccumulation() != 256 || c.GenerationBatch() != 1024 {
		t.Errorf("4 processes: GA %d, generation batch %d; want 256 and 1024", c.GradientAccumulation(), c.GenerationBatch())
	}
}
