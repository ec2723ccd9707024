package data

import (
	"math"
	"testing"
)

func TestValueTextMatchesPythonStr(t *testing.T) {
	// Right-hand sides are Python 3's str() of the same values.
	for v, want := range map[any]string{
		3.0: "3.0", 0.1: "0.1", 2.5: "2.5", -0.0001: "-0.0001", 1e-05: "1e-05", 123456789.0: "123456789.0",
		1e16: "1e+16", 1.5e16: "1.5e+16", 9999999999999998.0: "9999999999999998.0", math.Inf(1): "inf",
		int64(-42): "-42", "x{y}": "x{y}",
	} {
		if got := valueText(v); got != want {
			t.Errorf("valueText(%v) = %q, want %q", v, got, want)
		}
	}
	// Booleans, null and containers are written as JSON, not as Python would.
	for _, c := range []struct {
		v    any
		want string
	}{{true, "true"}, {nil, ""}, {[]any{int64(1), "a"}, `[1,"a"]`}} {
		if got := valueText(c.v); got != c.want {
			t.Errorf("valueText(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
