package data

import (
	"strings"
	"testing"
)

func TestParseSplitAndBounds(t *testing.T) {
	// Expected bounds worked by hand from datasets' _rel_to_abs_instr: percent → round(p·n/100)
	// with Python's round (halves to even), negatives from the end.
	cases := []struct {
		spec     string
		n        int
		from, to int
	}{
		{"train", 10, 0, 10},
		{"train[:90%]", 10, 0, 9},
		{"train[90%:]", 10, 9, 10},
		{"train[:50%]", 5, 0, 2},     // 2.5 rounds to 2 (even)
		{"train[:30%]", 5, 0, 2},     // 1.5 rounds to 2 (even)
		{"train[:10%]", 5, 0, 0},     // 0.5 rounds to 0
		{"train[-10%:]", 25, 23, 25}, // -2.5 rounds to -2, 25-2 = 23
		{"train[2:-3]", 10, 2, 7},
		{"train[-4:]", 10, 6, 10},
		{"train[8:3]", 10, 8, 8}, // empty, as a Python slice
		{"test[:100%]", 7, 0, 7},
	}
	for _, c := range cases {
		s, err := ParseSplit(c.spec)
		if err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		if s.String() != c.spec {
			t.Errorf("String() = %q, want %q", s.String(), c.spec)
		}
		from, to, err := s[0].Bounds(c.n)
		if err != nil {
			t.Fatalf("%s on %d: %v", c.spec, c.n, err)
		}
		if from != c.from || to != c.to {
			t.Errorf("%s on %d rows = [%d:%d], want [%d:%d]", c.spec, c.n, from, to, c.from, c.to)
		}
	}
}

func TestParseSplitPlusAndErrors(t *testing.T) {
	s, err := ParseSplit("train[:10%] + validation")
	if err != nil || len(s) != 2 || s[1].Split != "validation" || s[1].From != nil {
		t.Fatalf("got %v, %v", s, err)
	}
	for spec, want := range map[string]string{
		"":             "empty",
		"train[:10]x":  "cannot parse",
		"train[1%:5]":  "mixes percent",
		"train[:101%]": "outside",
		"train[a:b]":   "cannot parse",
		"train[[:5]":   "cannot parse",
	} {
		if _, err := ParseSplit(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSplit(%q) error = %v, want it to say %q", spec, err, want)
		}
	}
	p, _ := ParseSplit("train[:20]")
	if _, _, err := p[0].Bounds(10); err == nil || !strings.Contains(err.Error(), "10 rows") {
		t.Errorf("slice past the end: error %v", err)
	}
}
