// Package grade is the logic of the "lastnumber" example reward, shared by its process plugin
// (sdk/go/examples/lastnumber), the same reward in Python (sdk/python/examples/lastnumber) and
// the plugin-overhead benchmark's native baseline. It depends only on sdk/wire and the standard
// library, so it also compiles to WASM (GOOS=wasip1).
//
// The rule, deliberately simple and exactly reproducible in any language:
//   - a number is the regular expression -?[0-9]+(\.[0-9]+)? (ASCII digits only; no thousands
//     separators, exponents or fractions);
//   - the completion's answer is its last number; the reference is metadata[answer_column]:
//     a JSON number as is, or a string's last number;
//   - reward 1 when both parse to the same float64, 0 when they differ or the completion has no
//     number, null (no score) when the row has no usable reference.
package grade

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/grpo-dev/grpo/sdk/wire"
)

// DefaultAnswerColumn is the dataset column holding the reference answer.
const DefaultAnswerColumn = "answer"

var number = regexp.MustCompile(`-?[0-9]+(\.[0-9]+)?`)

// LastNumber returns the last number in s and whether there is one.
func LastNumber(s string) (float64, bool) {
	all := number.FindAllString(s, -1)
	if len(all) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(all[len(all)-1], 64)
	return v, err == nil
}

// reference reads the reference answer of one item.
func reference(meta map[string]any, column string) (float64, bool) {
	switch v := meta[column].(type) {
	case float64:
		return v, true
	case string:
		return LastNumber(v)
	}
	return 0, false
}

// Score grades a batch; column names the metadata key of the reference answer.
func Score(b wire.Batch, column string) wire.Result {
	res := wire.Result{Rewards: make([]*float64, len(b.Items))}
	for i, it := range b.Items {
		want, ok := reference(it.Metadata, column)
		if !ok {
			continue // nil: no score
		}
		got, ok := LastNumber(it.Completion)
		r := 0.0
		if ok && got == want {
			r = 1
		}
		res.Rewards[i] = wire.Float(r)
	}
	return res
}

// Column reads the answer_column setting.
func Column(settings map[string]any) (string, error) {
	v, ok := settings["answer_column"]
	if !ok {
		return DefaultAnswerColumn, nil
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return "", fmt.Errorf("setting answer_column must be a non-empty string, got %v", v)
	}
	return s, nil
}
