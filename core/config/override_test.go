package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestOverrideValues(t *testing.T) {
	tests := []struct {
		override string
		key      string
		want     any
	}{
		{"temperature=0.8", "temperature", 0.8},
		{"temperature=1", "temperature", 1.0}, // an integer where a float is expected
		{"num_generations=16", "num_generations", 16},
		{"learning_rate=5e-6", "learning_rate", 5e-6},
		{"reward_weights=[1.0,0.5]", "reward_weights", []float64{1, 0.5}},
		{"reward_weights=2", "reward_weights", []float64{2}},
		{`model_init_kwargs={torch_dtype="bfloat16"}`, "model_init_kwargs", map[string]any{"torch_dtype": "bfloat16"}},
		{"model_init_kwargs.torch_dtype=bfloat16", "model_init_kwargs", map[string]any{"torch_dtype": "bfloat16"}},
		{"model_init_kwargs.max_memory.0=20", "model_init_kwargs", map[string]any{"max_memory": map[string]any{"0": int64(20)}}},
		{"model_name_or_path=Qwen/Qwen2.5-7B", "model_name_or_path", "Qwen/Qwen2.5-7B"},
		{`model_name_or_path="quoted value"`, "model_name_or_path", "quoted value"},
		{"run_name=123", "run_name", "123"}, // a string key takes the text as written
		{"vllm_host=10.0.0.2", "vllm_host", "10.0.0.2"},
		{"system_prompt=", "system_prompt", ""},
		{`prompt_template=Solve: {question} \boxed{}`, "prompt_template", `Solve: {question} \boxed{}`},
		{"report_to=tensorboard", "report_to", []string{"tensorboard"}},
		{"keep_columns=[answer, solution]", "keep_columns", []string{"answer", "solution"}},
		{`keep_columns=["a"]`, "keep_columns", []string{"a"}},
		{"top_k=50", "top_k", 50},
		{"min_p=0.05", "min_p", 0.05},
		{"resume_from_checkpoint=true", "resume_from_checkpoint", "latest"},
		{"resume_from_checkpoint=out/checkpoint-25", "resume_from_checkpoint", "out/checkpoint-25"},
		{"template.plugin=builtin:chat", "template", PluginSpec{Plugin: "builtin:chat"}},
		{`rewards=[{plugin="builtin:math", settings={tolerance=0.01}}]`, "rewards",
			[]PluginSpec{{Plugin: "builtin:math", Settings: map[string]any{"tolerance": 0.01}}}},
		{" temperature = 0.9 ", "temperature", 0.9},
	}
	for _, tt := range tests {
		c := Default()
		o, p := parseOverride(tt.override)
		if p == nil {
			p = applyOverride(c, o)
		}
		if p != nil {
			t.Errorf("%s: %v", tt.override, p)
			continue
		}
		if got := valueOf(t, c, tt.key); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %s = %#v, want %#v", tt.override, tt.key, got, tt.want)
		}
	}
}

func TestOverrideNull(t *testing.T) {
	c := Default()
	for _, s := range []string{"top_k=4", "model_init_kwargs={a=1,b=2}", "template.settings={x={y=1,z=2}}"} {
		if err := set(c, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{"top_k=null", "model_init_kwargs.a=null", "template.settings.x.y=null", "clip_kl=null"} {
		if err := set(c, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if c.TopK != nil || c.ClipKL != nil || !mapsEqual(c.ModelInitKwargs, map[string]any{"b": int64(2)}) {
		t.Errorf("null left top_k=%v clip_kl=%v model_init_kwargs=%v", c.TopK, c.ClipKL, c.ModelInitKwargs)
	}
	if x := c.Template.Settings["x"].(map[string]any); len(x) != 1 || x["z"] != int64(2) {
		t.Errorf("template.settings.x = %v, want {z = 2}", x)
	}
	err := c.Set("temperature", "null")
	wantProblem(t, err, "temperature cannot be null: it has no unset state; give a number")
}

func TestOverrideErrors(t *testing.T) {
	tests := []struct{ override, want string }{
		{"temperature", "expected key=value"},
		{"=3", "missing key before '='"},
		{"temprature=0.8", "unknown key `temprature` (did you mean `temperature`?)"},
		{"generations=4", "unknown key `generations` (did you mean `num_generations`?)"},
		{"steps_per_generation=4", "(did you mean `generation_aggregation_steps`?)"},
		{"seed=abc", `seed: "abc" is not a TOML value; seed expects an integer (e.g. 42)`},
		{"temperature=hot", `temperature: "hot" is not a TOML value; temperature expects a number`},
		{"temperature=\"hot\"", `temperature: expected a number, got a string`},
		{"num_generations=8.5", "num_generations: expected an integer, got a float"},
		{"temperature.x=1", "temperature.x: temperature is not a table"},
		{"template.plugn=x", "unknown key `template.plugn` (did you mean `plugin`?)"},
		{"model.x=1", "a group name takes a file name"},
		{"a b=1", `key "a b": use letters, digits`},
		{"seed=1\nbeta=2", "is not a TOML value"},
	}
	for _, tt := range tests {
		o, p := parseOverride(tt.override)
		if p == nil {
			p = applyOverride(Default(), o)
		}
		if p == nil {
			t.Errorf("%q: no error, want %q", tt.override, tt.want)
			continue
		}
		if !strings.Contains(p.String(), tt.want) || !strings.HasPrefix(p.String(), "command line `") {
			t.Errorf("%q: error %q, want it to name the override and contain %q", tt.override, p, tt.want)
		}
	}
}

// set applies "key=value" with Config.Set.
func set(c *Config, s string) error {
	k, v, _ := strings.Cut(s, "=")
	return c.Set(k, v)
}

// FuzzOverride feeds arbitrary key=value text to the override parser. Whatever it accepts must
// survive printing: the printed configuration loads back to the same configuration, and
// printing that gives the same text.
func FuzzOverride(f *testing.F) {
	for _, s := range []string{
		"temperature=0.8", "reward_weights=[1.0,0.5]", `model_init_kwargs={torch_dtype="bfloat16"}`,
		"model_name_or_path=Qwen/Qwen2.5-7B", "top_k=null", "report_to=[a, b]", "run_name=x'''y",
		`system_prompt="a\u0001b\nc"`, "student_diagnostic_template=Q: {question}\n'", "seed=-7",
		"backend_settings.url=http://x:8000", `template.settings={a=[1,2.5,"s",{b=true}]}`,
		"min_p=nan", "learning_rate=1e400", "keep_columns=", "model=x", `vllm_host='lit'`,
		`rewards=[{plugin="builtin:x", settings={"k y"={z=1979-05-27}}}]`,
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		o, p := parseOverride(s)
		if p != nil || isGroupKey(o.path[0]) {
			return
		}
		c := Default()
		if p := applyOverride(c, o); p != nil {
			return // rejected with a message, as wrong types are
		}
		var first bytes.Buffer
		if err := c.WriteTOMLValues(&first); err != nil {
			t.Fatalf("%q: printing: %v", s, err)
		}
		path := filepath.Join(dir, "printed.toml")
		if err := os.WriteFile(path, first.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		c2, err := Load(path)
		if err != nil {
			t.Fatalf("%q: printed config does not load: %v\n%s", s, err, first.String())
		}
		if !sameValues(c, c2) {
			t.Fatalf("%q: printed config loads to other values\n%s", s, first.String())
		}
		var second bytes.Buffer
		c2.origins, c2.sources = c.origins, c.sources
		if err := c2.WriteTOMLValues(&second); err != nil {
			t.Fatal(err)
		}
		if first.String() != second.String() {
			t.Fatalf("%q: printing is not a fixed point:\n%s\n---\n%s", s, first.String(), second.String())
		}
	})
}

// sameValues compares the keys of two configs (NaN equal to NaN, as printed text is).
func sameValues(a, b *Config) bool {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for _, f := range fields() {
		x, y := va.Field(f.index).Interface(), vb.Field(f.index).Interface()
		if !reflect.DeepEqual(x, y) {
			sx, _ := formatValue(x)
			sy, _ := formatValue(y)
			if sx != sy || sx == "" {
				return false
			}
		}
	}
	return true
}
