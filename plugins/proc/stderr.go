package proc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// lineRing keeps the last lines a plugin wrote on stderr, for crash reports. It is an io.Writer
// fed by go-plugin with the raw stderr stream (and by the GRPCStdio stream of Go plugins).
type lineRing struct {
	mu      sync.Mutex
	lines   []string
	next    int
	full    bool
	partial []byte
}

func newLineRing(n int) *lineRing { return &lineRing{lines: make([]string, n)} }

func (r *lineRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	data := append(r.partial, p...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		r.add(string(bytes.TrimRight(data[:i], "\r")))
		data = data[i+1:]
	}
	// Keep an unterminated tail (bounded) until its newline arrives.
	const maxPartial = 4096
	if len(data) > maxPartial {
		data = data[len(data)-maxPartial:]
	}
	r.partial = append(r.partial[:0], data...)
	return len(p), nil
}

func (r *lineRing) add(line string) {
	if line == "" {
		return
	}
	line = readableLog(line)
	const maxLine = 1000
	if len(line) > maxLine {
		line = line[:maxLine] + "…"
	}
	r.lines[r.next] = line
	r.next = (r.next + 1) % len(r.lines)
	if r.next == 0 {
		r.full = true
	}
}

// Last returns the kept lines, oldest first, including an unterminated tail.
func (r *lineRing) Last() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	if r.full {
		out = append(out, r.lines[r.next:]...)
	}
	out = append(out, r.lines[:r.next]...)
	if len(r.partial) > 0 {
		out = append(out, string(r.partial))
	}
	return out
}

// readableLog renders an hclog JSON log line (what the SDKs write) as "level: message k=v", so a
// crash report reads like a log; other lines are kept as they are.
func readableLog(line string) string {
	if !strings.HasPrefix(line, "{") {
		return line
	}
	var m map[string]any
	if json.Unmarshal([]byte(line), &m) != nil {
		return line
	}
	msg, ok := m["@message"].(string)
	if !ok {
		return line
	}
	level, _ := m["@level"].(string)
	var keys []string
	for k := range m {
		if !strings.HasPrefix(k, "@") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", strings.ToLower(level), msg)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, m[k])
	}
	return b.String()
}
