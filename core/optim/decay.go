package optim

import (
	"fmt"
	"regexp"
	"strings"
)

// HFNoDecayPatterns are the name patterns HF Trainer's get_decay_parameter_names excludes from
// weight decay (transformers/trainer.py: forbidden_name_patterns, matched with re.search on the
// lower-cased dotted parameter name): biases and LayerNorm/RMSNorm weights, including Llama/Qwen
// "input_layernorm", "post_attention_layernorm", "model.norm" and "q_norm"/"k_norm".
var HFNoDecayPatterns = []string{`bias`, `layernorm`, `rmsnorm`, `(?:^|\.)norm(?:$|\.)`, `_norm(?:$|\.)`}

// HFNoDecay reports whether the variable at a GoMLX path ("/model/layers/0/input_layernorm/weight")
// is excluded from weight decay by HF's rule, after turning the path into an HF dotted name
// ("model.layers.0.input_layernorm.weight").
var HFNoDecay = mustNoDecay(HFNoDecayPatterns...)

// NoDecayMatching returns a NoDecay predicate: a variable is excluded from weight decay when any
// of the regular expressions (RE2 syntax) matches its lower-cased dotted name. Use it to extend
// HFNoDecayPatterns for models whose variables are named differently.
func NoDecayMatching(patterns ...string) (func(path string) bool, error) {
	res := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("no-decay pattern %d %q: %w", i, p, err)
		}
		res[i] = re
	}
	return func(path string) bool {
		name := DottedName(path)
		for _, re := range res {
			if re.MatchString(name) {
				return true
			}
		}
		return false
	}, nil
}

func mustNoDecay(patterns ...string) func(string) bool {
	f, err := NoDecayMatching(patterns...)
	if err != nil {
		panic(err)
	}
	return f
}

// DottedName turns a GoMLX variable path into the lower-cased dotted form HF's patterns see.
func DottedName(path string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(path, "/"), "/", "."))
}
