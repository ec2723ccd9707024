package mathreward

import (
	"math"
	"strings"
	"testing"

	"github.com/grpo-dev/grpo/sdk/wire"
)

func TestFinalAnswer(t *testing.T) {
	cases := []struct{ text, want string }{
		{`so the result is \boxed{42}.`, "42"},
		{`first \boxed{1}, finally \boxed{\frac{3}{4}}`, `\frac{3}{4}`},
		{`\boxed{\frac{\sqrt{2}}{2}} done`, `\frac{\sqrt{2}}{2}`}, // nested braces
		{`$\boxed{x^{2}+1}$`, `x^{2}+1`},
		{`\fbox{7}`, "7"},
		{`\boxed 5.`, "5"},
		{"Thus, the answer is 12 apples. Check: fine.", "12"},
		{"The final answer is $\\frac{1}{2}$.", `$\frac{1}{2}$.`},
		{"Answer: -3.5", "-3.5"},
		{"answer = 1,234", "1,234"},
		{"The answer is: yes", "yes"},
		{"Natalia sold 48/2 = 24 clips.\n#### 72", "72"},
		{"I think 3 then 4 then 5.", "5"},
		{"so -0.25 it is", "-0.25"},
		{"total 1,000,000 dollars", "1,000,000"},
		{"ratio 3/4", "3/4"},
		{`so $\dfrac{1}{2}$`, `\dfrac{1}{2}`},
		{`from 3 we get \frac{7}{8} and stop`, `\frac{7}{8}`},
		{"no numbers here", ""},
	}
	for _, c := range cases {
		got, ok := FinalAnswer(c.text)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("FinalAnswer(%q) = %q, %v; want %q", c.text, got, ok, c.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{" $42$ ", "42"},
		{`\(\dfrac{1}{2}\)`, `\frac{1}{2}`},
		{`\tfrac12`, `\frac12`},
		{"1,000.", "1000"},
		{"1{,}000", "1000"},
		{"+5", "5"},
		{"−3", "-3"},
		{`\left( 1, 2 \right)`, "(1,2)"},
		{`\text{ yes }`, "yes"},
		{`90^\circ`, "90"},
		{`50\%`, "50"},
		{"x + y", "x+y"},
		{"(1,2,3)", "(1,2,3)"}, // a tuple is not a thousands-separated number
		{"-0", "0"},
	}
	for _, c := range cases {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNumber(t *testing.T) {
	cases := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"42", 42, true}, {"-3.5", -3.5, true}, {".5", 0.5, true}, {"5.", 5, true},
		{`\frac{3}{4}`, 0.75, true}, {`-\frac{1}{2}`, -0.5, true}, {`\frac{-1}{2}`, -0.5, true},
		{`\frac12`, 0.5, true}, {"3/4", 0.75, true}, {"-6/4", -1.5, true}, {`\frac{1}{0}`, 0, false},
		{"1/0", 0, false}, {"x", 0, false}, {"inf", 0, false}, {"NaN", 0, false}, {"1e3", 0, false},
		{"0x10", 0, false}, {"", 0, false}, {`\frac{\sqrt2}{2}`, 0, false},
	}
	for _, c := range cases {
		got, ok := Number(c.in)
		if ok != c.ok || (ok && math.Abs(got-c.want) > 1e-12) {
			t.Errorf("Number(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestEqual(t *testing.T) {
	cases := []struct {
		pred, ref string
		want      bool
	}{
		{"42", "42", true},
		{"42.0", "42", true},
		{"$42$.", "42", true},
		{"1,234", "1234", true},
		{`\dfrac{1}{2}`, "0.5", true},
		{"1/2", `\frac{1}{2}`, true},
		{"0.333", `\frac{1}{3}`, false}, // 3.3e-4 off
		{"0.3333333", `\frac13`, true},  // 3.3e-8 off: within 1e-6
		{"-5", "5", false},
		{"+5", "5", true},
		{"1000000.0000001", "1000000", true}, // relative tolerance for large values
		{"x^{2}+1", "x^2+1", false},          // no symbolic algebra: different strings
		{`\left(1,2\right)`, "(1, 2)", true},
		{`\text{yes}`, "yes", true},
		{"", "0", false},
		{"43", "42", false},
	}
	for _, c := range cases {
		if got := Equal(c.pred, c.ref, 1e-6); got != c.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", c.pred, c.ref, got, c.want)
		}
	}
}

func TestScore(t *testing.T) {
	s := Defaults()
	b := wire.Batch{ABI: 1, Items: []wire.Item{
		{Completion: `so \boxed{72}`, Metadata: map[string]any{"answer": "Natalia ... #### 72"}},
		{Completion: "The answer is 71.", Metadata: map[string]any{"answer": 72.0}},
		{Completion: "it is 0.5", Metadata: map[string]any{"solution": `half: $\boxed{\frac{1}{2}}$`}},
		{Completion: "42", Metadata: map[string]any{"question": "no reference"}},
		{Completion: "nothing", Metadata: map[string]any{"answer": "3"}},
	}}
	res := Score(b, s)
	want := []any{1.0, 0.0, 1.0, nil, 0.0}
	for i, w := range want {
		got := res.Rewards[i]
		if (got == nil) != (w == nil) || (got != nil && *got != w.(float64)) {
			t.Errorf("item %d: got %v, want %v", i, deref(got), w)
		}
	}
	s.AnswerColumn, s.SolutionColumn = "gold", "sol"
	res = Score(wire.Batch{Items: []wire.Item{{Completion: "5", Metadata: map[string]any{"gold": "5", "answer": "6"}}}}, s)
	if res.Rewards[0] == nil || *res.Rewards[0] != 1 {
		t.Errorf("answer_column setting ignored: %v", deref(res.Rewards[0]))
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestFallbackWindow(t *testing.T) {
	long := strings.Repeat("word ", 400) // the last number is far from the text's start
	if got, _ := FinalAnswer("7 then " + long + "finally 12 and done"); got != "12" {
		t.Errorf("got %q, want 12", got)
	}
	if got, _ := FinalAnswer(`x \frac{1}{3} ` + long); got != `\frac{1}{3}` {
		t.Errorf("got %q", got)
	}
	if !containsFoldASCII("The ANSWER is", "answer") || containsFoldASCII("answe", "answer") {
		t.Error("containsFoldASCII")
	}
}
