package data

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// SplitSpec is a parsed split expression in the Hugging Face datasets syntax
// (datasets/arrow_reader.py ReadInstruction.from_spec): one or more parts joined by "+", each a
// split name with an optional [from:to] slice in rows or percent, e.g. "train",
// "train[:90%]", "train[90%:]", "test[10:-10]", "train[:1000]+validation".
type SplitSpec []SplitPart

// SplitPart is one "+"-separated part of a SplitSpec.
type SplitPart struct {
	Split string
	// From and To are the slice bounds; nil means open. Negative values count from the end.
	From, To *int
	// Percent says the bounds are percentages of the split's size.
	Percent bool
}

var (
	splitPartRE = regexp.MustCompile(`^([\w.-]+)(?:\[(?:(-?\d+)(%)?)?:(?:(-?\d+)(%)?)?\])?$`)
	splitPlusRE = regexp.MustCompile(`\s*\+\s*`)
)

// ParseSplit parses a split expression.
func ParseSplit(spec string) (SplitSpec, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("empty split name")
	}
	var out SplitSpec
	for _, p := range splitPlusRE.Split(spec, -1) {
		m := splitPartRE.FindStringSubmatch(p)
		if m == nil {
			return nil, fmt.Errorf("split %q: cannot parse %q; write NAME, NAME[from:to] or NAME[from%%:to%%], joined by +", spec, p)
		}
		part := SplitPart{Split: m[1]}
		fromPct, toPct := m[3] == "%", m[5] == "%"
		if m[2] != "" && m[4] != "" && fromPct != toPct {
			return nil, fmt.Errorf("split %q: mixes percent and row bounds in %q", spec, p)
		}
		part.Percent = fromPct || toPct
		for _, b := range []struct {
			s   string
			dst **int
		}{{m[2], &part.From}, {m[4], &part.To}} {
			if b.s == "" {
				continue
			}
			v, err := strconv.Atoi(b.s)
			if err != nil {
				return nil, fmt.Errorf("split %q: bound %q: %w", spec, b.s, err)
			}
			if part.Percent && (v > 100 || v < -100) {
				return nil, fmt.Errorf("split %q: percent bound %d%% is outside [-100%%, 100%%]", spec, v)
			}
			*b.dst = &v
		}
		out = append(out, part)
	}
	return out, nil
}

// String renders the spec back in its canonical form.
func (s SplitSpec) String() string {
	parts := make([]string, len(s))
	for i, p := range s {
		parts[i] = p.String()
	}
	return strings.Join(parts, "+")
}

func (p SplitPart) String() string {
	if p.From == nil && p.To == nil {
		return p.Split
	}
	unit := ""
	if p.Percent {
		unit = "%"
	}
	b := func(v *int) string {
		if v == nil {
			return ""
		}
		return strconv.Itoa(*v) + unit
	}
	return p.Split + "[" + b(p.From) + ":" + b(p.To) + "]"
}

// Bounds resolves the part's slice on a split of n rows to absolute [from, to) row indices, as
// datasets' _rel_to_abs_instr does: percent bounds are rounded to the closest row (Python round,
// halves to even), negative bounds count from the end, a bound beyond the split is an error, and
// from >= to gives an empty range.
func (p SplitPart) Bounds(n int) (from, to int, err error) {
	from, to = 0, n
	conv := func(v int) int {
		if p.Percent {
			return int(math.RoundToEven(float64(v) * float64(n) / 100))
		}
		return v
	}
	if p.From != nil {
		from = conv(*p.From)
	}
	if p.To != nil {
		to = conv(*p.To)
	}
	if abs(from) > n || abs(to) > n {
		return 0, 0, fmt.Errorf("split %s: slice [%d:%d] does not fit a split of %d rows", p, from, to, n)
	}
	if from < 0 {
		from += n
	}
	if to < 0 {
		to += n
	}
	if to < from {
		to = from
	}
	return from, to, nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
