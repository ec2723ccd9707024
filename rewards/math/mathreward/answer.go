// Package mathreward grades math answers: it finds a completion's final answer, normalises it
// and the reference, and compares them numerically or as strings. It is the logic of the
// shipped rewards/math.wasm and of its native twin builtin:math (same code, two targets).
//
// Final answer of a completion, in order: the last \boxed{…} (or \fbox{…}); else the text after
// the last "answer is" / "answer:" phrase; else after a GSM8K "####" marker; else the last
// number or \frac{…}{…}. Equality: both parse as numbers (integers, decimals, thousands separators, signs,
// a/b, \frac/\dfrac/\tfrac) and differ by at most tolerance·max(1, |reference|); or their
// normalised strings are equal. This follows the answer-extraction conventions of the MATH and
// GSM8K graders (boxed answer first, "####" for GSM8K, normalise $, spaces, \left/\right, text
// wrappers) in a small, dependency-free form that compiles to WASM.
package mathreward

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// FinalAnswer extracts a completion's final answer; ok is false if it has none.
func FinalAnswer(text string) (answer string, ok bool) {
	if b, ok := lastBoxed(text); ok {
		return b, true
	}
	if a, ok := afterPhrase(text); ok {
		return a, true
	}
	if i := strings.LastIndex(text, "####"); i >= 0 {
		if a := strings.TrimSpace(firstLine(text[i+4:])); a != "" {
			return a, true
		}
	}
	// The last number or fraction ends at or after the last digit; searching a window before
	// it instead of the whole text keeps this linear in the answer, not the completion.
	if d := strings.LastIndexAny(text, "0123456789"); d >= 0 {
		window := text[max(0, d-tokenWindow):]
		if n := lastTokenRE.FindAllString(window, -1); len(n) > 0 {
			return n[len(n)-1], true
		}
	}
	return "", false
}

// tokenWindow bounds the length of a fallback answer token (a number or \frac{…}{…}).
const tokenWindow = 256

// containsFoldASCII reports whether s contains the lower-case ASCII word w in any case.
func containsFoldASCII(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		j := 0
		for j < len(w) && (s[i+j]|0x20) == w[j] {
			j++
		}
		if j == len(w) {
			return true
		}
	}
	return false
}

// Reference turns a dataset's answer (e.g. "72", "#### 72", "\boxed{\frac12}") into the string
// to compare against.
func Reference(answer string) string {
	if b, ok := lastBoxed(answer); ok {
		return b
	}
	if i := strings.LastIndex(answer, "####"); i >= 0 {
		return strings.TrimSpace(answer[i+4:])
	}
	return strings.TrimSpace(answer)
}

// lastBoxed returns the content of the last \boxed{…} or \fbox{…}, braces balanced.
func lastBoxed(text string) (string, bool) {
	start := -1
	for _, cmd := range []string{`\boxed`, `\fbox`} {
		if i := strings.LastIndex(text, cmd); i > start {
			start = i + len(cmd)
		}
	}
	if start < 0 {
		return "", false
	}
	rest := strings.TrimLeft(text[start:], " ")
	if strings.HasPrefix(rest, "{") {
		if inner, ok := braced(rest); ok {
			return strings.TrimSpace(inner), true
		}
		return "", false
	}
	// "\boxed 5": the next token.
	if f := strings.Fields(rest); len(f) > 0 {
		return strings.TrimRight(f[0], "$.,"), true
	}
	return "", false
}

// braced returns the content of the balanced {…} group s starts with.
func braced(s string) (string, bool) {
	depth := 0
	for i, r := range s {
		switch r {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[1:i], true
			}
		}
	}
	return "", false
}

var (
	phraseRE = regexp.MustCompile(`(?i)(?:final answer|answer)\s*(?:is|:|=)\s*(?:[:=])?`)
	// numberRE: a signed integer or decimal, with optional thousands separators, or a/b.
	numberRE = regexp.MustCompile(`[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*/\s*\d+)?|[-+−]?\.\d+`)
	// lastTokenRE: the fallback answer, the last \frac{..}{..} or number of a text.
	lastTokenRE = regexp.MustCompile(`\\[dt]?frac\s*\{[^{}]*\}\s*\{[^{}]*\}|` + numberRE.String())
	// mathTokenRE: the first math expression in a phrase: $…$, \frac{..}{..}, or a number.
	mathTokenRE = regexp.MustCompile(`\$[^$]+\$|` + lastTokenRE.String())
)

// afterPhrase finds the last "answer is" / "answer:" phrase and returns the answer after it.
func afterPhrase(text string) (string, bool) {
	if !containsFoldASCII(text, "answer") { // cheap pre-check before the regexp scan
		return "", false
	}
	locs := phraseRE.FindAllStringIndex(text, -1)
	if len(locs) == 0 {
		return "", false
	}
	rest := strings.TrimSpace(firstLine(text[locs[len(locs)-1][1]:]))
	// The sentence ends at ". " (a decimal point is followed by a digit, not a space).
	if i := strings.Index(rest, ". "); i >= 0 {
		rest = rest[:i+1]
	}
	if rest == "" {
		return "", false
	}
	if _, ok := Number(Normalize(rest)); ok {
		return rest, true
	}
	if tok := mathTokenRE.FindString(rest); tok != "" {
		return tok, true
	}
	return rest, true
}

func firstLine(s string) string {
	s = strings.TrimLeft(s, " \t\r\n")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

var (
	textRE      = regexp.MustCompile(`\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}`)
	thousandsRE = regexp.MustCompile(`^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$`)
	spacing     = strings.NewReplacer(`\left`, "", `\right`, "", `\!`, "", `\,`, "", `\;`, "", `\:`, "", `\ `, "",
		`\dfrac`, `\frac`, `\tfrac`, `\frac`, `{,}`, ",", "−", "-", `^\circ`, "", `^{\circ}`, "", "°", "", `\%`, "", "%", "",
		`\$`, "", "$", "")
)

// Normalize puts an answer in a canonical string form: no $ or \( \) delimiters, no LaTeX
// spacing or \left/\right, \text{…} unwrapped, \dfrac/\tfrac → \frac, no spaces, no trailing
// period, no thousands separators in numbers, no leading "+", no degree or percent signs.
func Normalize(s string) string {
	s = strings.TrimSpace(s)
	for _, d := range [][2]string{{`\(`, `\)`}, {`\[`, `\]`}} {
		if strings.HasPrefix(s, d[0]) && strings.HasSuffix(s, d[1]) {
			s = s[len(d[0]) : len(s)-len(d[1])]
		}
	}
	s = textRE.ReplaceAllString(s, "$1")
	s = spacing.Replace(s)
	s = strings.Join(strings.Fields(s), "")
	s = strings.TrimRight(s, ".")
	if thousandsRE.MatchString(s) {
		s = strings.ReplaceAll(s, ",", "")
	}
	s = strings.TrimPrefix(s, "+")
	if s == "-0" {
		s = "0"
	}
	return s
}

var fracRE = regexp.MustCompile(`^(-?)\\frac(?:\{([^{}]+)\}|(\d))(?:\{([^{}]+)\}|(\d))$`)

// Number parses a normalised answer as a number: an integer or decimal, a/b, or \frac{a}{b}
// (numerator and denominator themselves numbers, signs allowed anywhere).
func Number(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xXeEnN_pP") {
		return v, !math.IsInf(v, 0)
	}
	if m := fracRE.FindStringSubmatch(s); m != nil {
		num, okN := Number(m[2] + m[3])
		den, okD := Number(m[4] + m[5])
		if okN && okD && den != 0 {
			v := num / den
			if m[1] == "-" {
				v = -v
			}
			return v, true
		}
		return 0, false
	}
	if i := strings.IndexByte(s, '/'); i > 0 && strings.Count(s, "/") == 1 {
		num, okN := Number(s[:i])
		den, okD := Number(s[i+1:])
		if okN && okD && den != 0 {
			return num / den, true
		}
	}
	return 0, false
}

// Equal reports whether a predicted answer matches the reference: numerically within
// tolerance·max(1, |reference|), or as equal normalised strings.
func Equal(pred, ref string, tolerance float64) bool {
	p, r := Normalize(pred), Normalize(ref)
	if p == "" || r == "" {
		return false
	}
	pv, okP := Number(p)
	rv, okR := Number(r)
	if okP && okR {
		return math.Abs(pv-rv) <= tolerance*math.Max(1, math.Abs(rv))
	}
	return p == r
}
