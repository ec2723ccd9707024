package config

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// placeholder matches a template variable {name}. Other braces (LaTeX \boxed{}, JSON) are
// left alone by the renderer; a {word} that is no known variable is reported by Warnings,
// since it is either a typo or text that looks like one.
var placeholder = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Placeholders returns the distinct variable names used in a template, in order of appearance.
func Placeholders(template string) []string {
	var names []string
	for _, m := range placeholder.FindAllStringSubmatch(template, -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	return names
}

// templateSpec lists the variables of one adaptive-teaching template (research/rlt.md §7.1).
type templateSpec struct {
	key      string
	text     string
	required []string
	optional []string
}

func (c *Config) templateSpecs() []templateSpec {
	return []templateSpec{
		{"student_diagnostic_template", c.StudentDiagnosticTemplate, []string{"question"}, nil},
		{"teacher_adaptive_template", c.TeacherAdaptiveTemplate, []string{"question", "approach"}, []string{"solution"}},
		{"student_with_teaching_template", c.StudentWithTeachingTemplate, []string{"question", "teaching"}, nil},
		{"student_baseline_template", c.StudentBaselineTemplate, []string{"question"}, nil},
	}
}

// templates checks that each template contains its required variables.
func (v *validator) templates() {
	for _, t := range v.c.templateSpecs() {
		used := Placeholders(t.text)
		var missing []string
		for _, r := range t.required {
			if !slices.Contains(used, r) {
				missing = append(missing, "{"+r+"}")
			}
		}
		if len(missing) > 0 {
			v.add(t.key, "%s lacks %s: the template must contain %s", t.key,
				strings.Join(missing, " and "), braceList(t.required))
		}
	}
}

// Warnings lists things that are allowed but probably not meant: unknown {name}s in
// templates, and keys set that have no effect.
func (c *Config) Warnings() []string {
	var w []string
	for _, t := range c.templateSpecs() {
		known := append(slices.Clone(t.required), t.optional...)
		for _, name := range Placeholders(t.text) {
			if !slices.Contains(known, name) {
				w = append(w, fmt.Sprintf("%s: {%s} is not a variable of this template (known: %s); "+
					"it will be left as written", t.key, name, braceList(known)))
			}
		}
	}
	def := reflect.ValueOf(Default()).Elem()
	cur := reflect.ValueOf(c).Elem()
	for _, f := range fields() {
		if f.inert && !reflect.DeepEqual(def.Field(f.index).Interface(), cur.Field(f.index).Interface()) {
			w = append(w, fmt.Sprintf("%s is set but has no effect yet (accepted for RLT/DeepSpeed compatibility)", f.key))
		}
	}
	if c.LRSchedulerType == "constant" && (c.WarmupRatio > 0 || c.WarmupSteps > 0) {
		w = append(w, "warmup_ratio/warmup_steps have no effect with lr_scheduler_type = \"constant\" "+
			"(use \"constant_with_warmup\")")
	}
	if c.SyncRefModel && c.Beta == 0 {
		w = append(w, "sync_ref_model has no effect with beta = 0 (no reference model is used)")
	}
	if c.NumIterations == 1 && c.EpsilonHigh != nil {
		w = append(w, "epsilon_high has no effect with num_iterations = 1 (the ratio π/π_old is always 1)")
	}
	if c.NumProcesses > 1 {
		w = append(w, fmt.Sprintf("num_processes = %d: multi-GPU data-parallel training is not "+
			"implemented yet", c.NumProcesses))
	}
	return w
}

func braceList(names []string) string {
	b := make([]string, len(names))
	for i, n := range names {
		b[i] = "{" + n + "}"
	}
	return strings.Join(b, ", ")
}
