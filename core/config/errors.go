package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// Where names the place the offending value came from: "configs/run/x.toml:12" (a file and
	// line), "command line", "--plugin", or "" for a default.
	Where string
	// Key is the configuration key concerned ("" when the problem is not about one key).
	Key string
	// Msg says what is wrong and what to do.
	Msg string
}

func (p Problem) String() string {
	if p.Where == "" {
		return p.Msg
	}
	return p.Where + ": " + p.Msg
}

// ValidationErrors lists every problem found at once. Load returns it for problems in files
// and overrides, Validate for values that break a rule.
type ValidationErrors []Problem

func (e ValidationErrors) Error() string {
	switch len(e) {
	case 0:
		return "no configuration problems"
	case 1:
		return e[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d configuration problems:", len(e))
	for _, p := range e {
		b.WriteString("\n  ")
		b.WriteString(strings.ReplaceAll(p.String(), "\n", "\n    "))
	}
	return b.String()
}

// Has reports whether some problem's message contains text (for tests and callers that react
// to one rule).
func (e ValidationErrors) Has(text string) bool {
	for _, p := range e {
		if strings.Contains(p.String(), text) {
			return true
		}
	}
	return false
}
