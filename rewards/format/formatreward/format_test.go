package formatreward

import "testing"

func TestGrade(t *testing.T) {
	def, strict, partial := Defaults(), Defaults(), Defaults()
	strict.Strict, partial.Partial = true, true
	cases := []struct {
		text string
		s    Settings
		want float64
	}{
		{"<think>hmm</think><answer>4</answer>", def, 1},
		{"Sure! <think>hmm</think>\n<answer>4</answer> bye", def, 1},
		{"Sure! <think>hmm</think>\n<answer>4</answer> bye", strict, 0},
		{" <think>hmm</think>\n<answer>4</answer>\n", strict, 1},
		{"<answer>4</answer><think>hmm</think>", def, 0},               // wrong order
		{"<think>a</think><think>b</think><answer>4</answer>", def, 0}, // duplicate
		{"<think>a<answer>4</answer></think>", def, 0},                 // nested
		{"<think>a</think>", def, 0},
		{"<think>a</think>", partial, 0.25},
		{"</think>a<think>", partial, 0},
		{"<reasoning>r</reasoning><solution>s</solution>", Settings{Tags: []string{"reasoning", "solution"}}, 1},
	}
	for _, c := range cases {
		if got := Grade(c.text, c.s); got != c.want {
			t.Errorf("Grade(%q, %+v) = %v, want %v", c.text, c.s, got, c.want)
		}
	}
	if err := (Settings{Tags: []string{"<b>"}}).Validate(); err == nil {
		t.Error("tag with brackets accepted")
	}
}
