package mathreward

import (
	"fmt"
	"strconv"

	"github.com/grpo-dev/grpo/sdk/wire"
)

// Settings are the reward's settings ([[rewards]] settings of rewards/math.wasm).
type Settings struct {
	// AnswerColumn is the row column holding the reference answer. Default "answer".
	AnswerColumn string `json:"answer_column"`
	// SolutionColumn is used when the answer column is absent: its last \boxed{…} (or its
	// "####" answer) is the reference. Default "solution".
	SolutionColumn string `json:"solution_column"`
	// Tolerance for numeric equality, relative to max(1, |reference|). Default 1e-6.
	Tolerance float64 `json:"tolerance"`
}

// Defaults returns the default settings.
func Defaults() Settings {
	return Settings{AnswerColumn: "answer", SolutionColumn: "solution", Tolerance: 1e-6}
}

// Score grades every item: 1 if the completion's final answer equals the reference, 0 if not
// (or if it has no answer), null (no score) if the row has no reference.
func Score(b wire.Batch, s Settings) wire.Result {
	res := wire.Result{Rewards: make([]*float64, len(b.Items))}
	for i, it := range b.Items {
		ref, ok := reference(it.Metadata, s)
		if !ok {
			continue
		}
		v := 0.0
		if pred, ok := FinalAnswer(it.Completion); ok && Equal(pred, ref, s.Tolerance) {
			v = 1
		}
		res.Rewards[i] = &v
	}
	return res
}

// reference finds the row's reference answer.
func reference(meta map[string]any, s Settings) (string, bool) {
	if v, ok := meta[s.AnswerColumn]; ok && v != nil {
		if str, ok := scalar(v); ok {
			return Reference(str), true
		}
	}
	if v, ok := meta[s.SolutionColumn]; ok && v != nil {
		if str, ok := scalar(v); ok {
			if b, ok := lastBoxed(str); ok {
				return b, true
			}
			return Reference(str), true
		}
	}
	return "", false
}

// scalar renders a JSON scalar column value as a string.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return "", false
	case fmt.Stringer:
		return x.String(), true
	}
	return "", false
}
