package config

import (
	_ "embed" // the doc comments of config.go are the key reference
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/agnivade/levenshtein"
)

// configSource is config.go itself: its field doc comments are shown by `grpo config print`,
// so the documentation of a key is written once, next to the field.
//
//go:embed config.go
var configSource string

// field describes one key of Config.
type field struct {
	key   string // TOML key
	index int    // index in Config
	typ   reflect.Type
	group string // section title in `config print`
	doc   string // the field's doc comment
	inert bool   // accepted for compatibility, no effect yet
}

// Group keys select a file of a configs/ group. They are not Config keys: they compose it.
var groupKeys = []string{"trainer", "model", "data", "distributed"}

func isGroupKey(k string) bool {
	for _, g := range groupKeys {
		if g == k {
			return true
		}
	}
	return false
}

// aliases maps names a TRL, transformers or RLT user may reach for to grpo's key.
var aliases = map[string]string{
	"steps_per_generation":          "generation_aggregation_steps",
	"vllm_server_host":              "vllm_host",
	"vllm_server_base_url":          "vllm_host",
	"vllm_server_port":              "vllm_port",
	"vllm_max_model_length":         "vllm_max_model_len",
	"vllm_structured_outputs_regex": "vllm_guided_decoding_regex",
	"reward_funcs":                  "rewards",
	"reward_fns":                    "rewards",
	"lr":                            "learning_rate",
	"model_name":                    "model_name_or_path",
	"dataset_name":                  "dataset_id_or_path",
	"resume_from":                   "resume_from_checkpoint",
	"model_cfg":                     "model",
	"data_cfg":                      "data",
	"trainer_cfg":                   "trainer",
}

var (
	fieldsOnce sync.Once
	fieldList  []*field
	fieldByKey map[string]*field
)

// fields returns Config's keys in declaration order.
func fields() []*field {
	fieldsOnce.Do(buildFields)
	return fieldList
}

// lookup returns the field of a TOML key, or nil.
func lookup(key string) *field {
	fieldsOnce.Do(buildFields)
	return fieldByKey[key]
}

func buildFields() {
	docs := fieldDocs()
	t := reflect.TypeOf(Config{})
	fieldByKey = make(map[string]*field)
	group := ""
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		key := sf.Tag.Get("toml")
		if !sf.IsExported() || key == "" {
			continue
		}
		if g := sf.Tag.Get("group"); g != "" {
			group = g
		}
		f := &field{key: key, index: i, typ: sf.Type, group: group, doc: docs[sf.Name],
			inert: sf.Tag.Get("grpo") == "inert"}
		fieldList = append(fieldList, f)
		fieldByKey[key] = f
	}
}

// fieldDocs parses the embedded config.go and returns each Config field's doc comment.
func fieldDocs() map[string]string {
	docs := map[string]string{}
	file, err := parser.ParseFile(token.NewFileSet(), "config.go", configSource, parser.ParseComments)
	if err != nil {
		panic("config: embedded config.go does not parse: " + err.Error()) // compiled from it
	}
	ast.Inspect(file, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Config" {
			return true
		}
		for _, f := range ts.Type.(*ast.StructType).Fields.List {
			if len(f.Names) > 0 && f.Doc != nil {
				docs[f.Names[0].Name] = strings.TrimSpace(f.Doc.Text())
			}
		}
		return false
	})
	return docs
}

// suggest returns the known name closest to name, or "" when none is close: an alias first,
// then the smallest edit distance (case-insensitive) within a third of the name's length, then
// a known name containing it.
func suggest(name string, known []string) string {
	if a, ok := aliases[name]; ok {
		for _, k := range known {
			if k == a {
				return a
			}
		}
	}
	lower := strings.ToLower(name)
	best, bestDist := "", 1<<30
	for _, k := range known {
		if d := levenshtein.ComputeDistance(lower, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" && bestDist <= max(2, len(name)/3) {
		return best
	}
	if len(lower) >= 4 {
		var containing []string
		for _, k := range known {
			if strings.Contains(k, lower) {
				containing = append(containing, k)
			}
		}
		if len(containing) > 0 {
			sort.Slice(containing, func(i, j int) bool { return len(containing[i]) < len(containing[j]) })
			return containing[0]
		}
	}
	return ""
}

// topLevelNames lists every key a file or override may set: Config keys, then group keys.
func topLevelNames() []string {
	var names []string
	for _, f := range fields() {
		names = append(names, f.key)
	}
	return append(names, groupKeys...)
}

// didYouMean formats suggest's answer as a sentence tail, or "".
func didYouMean(name string, known []string) string {
	if s := suggest(name, known); s != "" {
		return " (did you mean `" + s + "`?)"
	}
	return ""
}
