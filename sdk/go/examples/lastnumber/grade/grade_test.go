package grade

import (
	"testing"

	"github.com/grpo-dev/grpo/sdk/wire"
)

func TestLastNumber(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"The answer is 42.", 42, true},
		{"41 then 42", 42, true},
		{"x = 3.50", 3.5, true},
		{"-7", -7, true},
		{"1,000", 0, true}, // no thousands separators: the last number is "000"
		{"2/3", 3, true},
		{"1.5e3", 3, true}, // no exponents: "1.5", "e", "3"
		{"no digits", 0, false},
		{"٣", 0, false}, // ASCII digits only
		{"", 0, false},
	} {
		got, ok := LastNumber(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("LastNumber(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestScore(t *testing.T) {
	b := wire.Batch{Items: []wire.Item{
		{Completion: "so 12", Metadata: map[string]any{"answer": 12.0}},
		{Completion: "so 12", Metadata: map[string]any{"answer": "twelve or 13"}},
		{Completion: "so 12", Metadata: map[string]any{"answer": true}},
		{Completion: "nothing", Metadata: map[string]any{"answer": "1"}},
		{Completion: "so 12"},
	}}
	res := Score(b, DefaultAnswerColumn)
	want := []any{1.0, 0.0, nil, 0.0, nil}
	for i, w := range want {
		switch {
		case w == nil && res.Rewards[i] != nil:
			t.Errorf("item %d = %v, want null", i, *res.Rewards[i])
		case w != nil && (res.Rewards[i] == nil || *res.Rewards[i] != w.(float64)):
			t.Errorf("item %d = %v, want %v", i, res.Rewards[i], w)
		}
	}
	if _, err := Column(map[string]any{"answer_column": ""}); err == nil {
		t.Error("empty answer_column accepted")
	}
	if c, err := Column(map[string]any{"answer_column": "solution"}); err != nil || c != "solution" {
		t.Errorf("Column = %q, %v", c, err)
	}
}
