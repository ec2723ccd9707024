package lengthreward

import (
	"math"
	"strings"
	"testing"
)

func TestGrade(t *testing.T) {
	target := Settings{Mode: "target", Target: 10, Unit: "chars", Scale: 1}
	words := Settings{Mode: "target", Target: 4, Unit: "words", Scale: 2}
	maxed := Settings{Mode: "max", Max: 10, Unit: "chars", Scale: 1}
	cases := []struct {
		text string
		s    Settings
		want float64
	}{
		{strings.Repeat("a", 10), target, 1},
		{strings.Repeat("a", 5), target, 0.5},
		{strings.Repeat("a", 15), target, 0.5},
		{strings.Repeat("a", 30), target, 0},
		{"", target, 0},
		{"ééééé", target, 0.5}, // code points, not bytes
		{"one two  three\nfour", words, 2},
		{"one two", words, 1},
		{strings.Repeat("a", 10), maxed, 0},
		{strings.Repeat("a", 13), maxed, -0.3},
		{strings.Repeat("a", 40), maxed, -1},
	}
	for _, c := range cases {
		if got := Grade(c.text, c.s); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Grade(%q, %+v) = %v, want %v", c.text, c.s, got, c.want)
		}
	}
	if err := (Settings{Mode: "target", Unit: "chars"}).Validate(); err == nil {
		t.Error("target 0 accepted")
	}
	if err := (Settings{Mode: "lenient", Unit: "chars", Target: 3}).Validate(); err == nil {
		t.Error("unknown mode accepted")
	}
}
