package builtin

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/grpo-dev/grpo/core/reward"
)

func TestShippedBuiltins(t *testing.T) {
	r, err := OpenReward("math", map[string]any{"answer_column": "gold"})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := r.Score(context.Background(), 0, []reward.Sample{
		{Completion: `\boxed{4}`, Metadata: map[string]any{"gold": "4"}},
		{Completion: `\boxed{5}`, Metadata: map[string]any{"gold": "4"}},
		{Completion: `\boxed{5}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Values[0] != 1 || sc.Values[1] != 0 || !math.IsNaN(sc.Values[2]) {
		t.Errorf("math values = %v", sc.Values)
	}
	if _, err := OpenReward("math", map[string]any{"answer_colum": "x"}); err == nil || !strings.Contains(err.Error(), "answer_colum") {
		t.Errorf("misspelled setting: %v", err)
	}
	if _, err := OpenReward("length", map[string]any{"mode": "nope"}); err == nil || !strings.Contains(err.Error(), "builtin:length") {
		t.Errorf("bad mode: %v", err)
	}
	if _, err := OpenReward("nope", nil); err == nil || !strings.Contains(err.Error(), "format, length, math") {
		t.Errorf("unknown builtin: %v", err)
	}
	if _, err := OpenTemplate("nope", nil); err == nil {
		t.Error("unknown template accepted")
	}
}
