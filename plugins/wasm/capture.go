package wasm

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
)

// capture collects what one instance writes to stdout, stderr and grpo_host.log and sends it,
// line by line, to the logger. A per-call byte budget keeps a chatty or hostile plugin from
// flooding the trainer's log; the last bytes are kept for error messages.
type capture struct {
	mu      sync.Mutex
	logger  *slog.Logger
	budget  int // bytes still allowed in this call
	perCall int
	dropped int
	partial map[string][]byte // unterminated line per stream
	tail    []byte            // last tailBytes bytes of stdout/stderr
}

const (
	tailBytes    = 2048
	maxLineBytes = 4096
)

func newCapture(logger *slog.Logger, perCall int) *capture {
	return &capture{logger: logger, perCall: perCall, budget: perCall, partial: map[string][]byte{}}
}

// reset starts a new call's budget and flushes the previous call's unterminated lines.
func (c *capture) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
	c.budget, c.dropped, c.tail = c.perCall, 0, c.tail[:0]
}

// finish flushes unterminated lines and reports dropped bytes at the end of a call.
func (c *capture) finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
	if c.dropped > 0 {
		c.logger.Warn("plugin output over the per-call log cap was dropped", "bytes", c.dropped, "cap", c.perCall)
		c.dropped = 0
	}
}

func (c *capture) flushLocked() {
	for stream, line := range c.partial {
		if len(line) > 0 {
			c.emit(stream, slog.LevelInfo, line)
		}
		delete(c.partial, stream)
	}
}

// Tail returns the last bytes the plugin wrote to stdout/stderr in the current call.
func (c *capture) Tail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.tail)
}

// take consumes up to len(p) bytes of the budget and returns how many may be logged.
func (c *capture) take(n int) int {
	k := min(n, max(c.budget, 0))
	c.budget -= k
	c.dropped += n - k
	return k
}

func (c *capture) keepTail(p []byte) {
	c.tail = append(c.tail, p...)
	if over := len(c.tail) - tailBytes; over > 0 {
		c.tail = append(c.tail[:0], c.tail[over:]...)
	}
}

// stream returns the io.Writer for the guest's stdout or stderr.
func (c *capture) stream(name string) *streamWriter { return &streamWriter{c: c, name: name} }

type streamWriter struct {
	c    *capture
	name string
}

func (w *streamWriter) Write(p []byte) (int, error) {
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keepTail(p)
	data := p[:c.take(len(p))]
	buf := append(c.partial[w.name], data...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		c.emit(w.name, slog.LevelInfo, buf[:i])
		buf = buf[i+1:]
	}
	if len(buf) > maxLineBytes {
		c.emit(w.name, slog.LevelInfo, buf)
		buf = nil
	}
	c.partial[w.name] = append([]byte(nil), buf...)
	return len(p), nil // the guest always sees a full write
}

// log handles grpo_host.log: level is -1 debug, 0 info, 1 warn, 2 error (ABI.md).
func (c *capture) log(level int32, msg []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	msg = msg[:c.take(len(msg))]
	if len(msg) == 0 {
		return
	}
	lvl := slog.LevelInfo
	switch {
	case level < 0:
		lvl = slog.LevelDebug
	case level == 1:
		lvl = slog.LevelWarn
	case level >= 2:
		lvl = slog.LevelError
	}
	c.emit("log", lvl, msg)
}

func (c *capture) emit(stream string, lvl slog.Level, line []byte) {
	if len(line) > maxLineBytes {
		line = append(line[:maxLineBytes:maxLineBytes], "…"...)
	}
	c.logger.Log(context.Background(), lvl, string(bytes.TrimRight(line, "\r")), "stream", stream)
}
