package data

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// normalize turns a value decoded by encoding/json with UseNumber into the package's value
// types: integers that fit int64 become int64, other numbers float64, so that a JSONL row and
// the same row read from Parquet or Arrow compare equal.
func normalize(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", x, err)
		}
		return f, nil
	case []any:
		for i := range x {
			n, err := normalize(x[i])
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
		return x, nil
	case map[string]any:
		for k, e := range x {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
		return x, nil
	default:
		return v, nil
	}
}

// describeValue names a value's type for error messages.
func describeValue(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case int64, float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case []byte:
		return "binary"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// valueText renders a value as it appears in a prompt: strings verbatim, integers in decimal,
// floats as Python's str() writes them (so a number reads as in a TRL/RLT prompt); booleans as
// true/false, null as "", lists and objects as compact JSON.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return pythonFloat(x)
	case bool:
		return strconv.FormatBool(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}

// pythonFloat formats like Python's repr(float): the shortest round-trip digits, positional for
// 1e-4 <= |x| < 1e16 with at least one decimal ("3.0", "0.001"), else exponent form ("1e-05",
// "1.5e+16").
func pythonFloat(x float64) string {
	switch {
	case math.IsNaN(x):
		return "nan"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	if a := math.Abs(x); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(x, 'e', -1, 64) // "1e-05", "1.5e+16": Python's exponent form
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}
