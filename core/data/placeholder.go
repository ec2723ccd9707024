package data

import (
	"regexp"
	"strings"
)

// placeholderNameRE is what may stand between braces in a prompt_template placeholder.
var placeholderNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// FillTemplate replaces each {name} in tmpl for which lookup(name) succeeds with its value, in
// one left-to-right pass; replaced text is never scanned again. Everything else stays verbatim:
// braces around anything that is not a known name ("\boxed{}", "{x}" with no column x, "{ }")
// and "%" signs. This is deliberately not printf/str.format: prompts about math are full of
// braces, and a format call would reject or mangle them. Hand-written because text/template and
// fmt both give braces or percent signs a meaning.
func FillTemplate(tmpl string, lookup func(name string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(tmpl); {
		if tmpl[i] == '{' {
			if j := strings.IndexByte(tmpl[i+1:], '}'); j >= 0 {
				name := tmpl[i+1 : i+1+j]
				if placeholderNameRE.MatchString(name) {
					if v, ok := lookup(name); ok {
						b.WriteString(v)
						i += j + 2
						continue
					}
				}
			}
		}
		b.WriteByte(tmpl[i])
		i++
	}
	return b.String()
}

// Placeholders lists the identifier-shaped {name} placeholders of tmpl, in order, without
// repeats.
func Placeholders(tmpl string) []string {
	var out []string
	seen := map[string]bool{}
	FillTemplate(tmpl, func(name string) (string, bool) {
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
		return "", false
	})
	return out
}
