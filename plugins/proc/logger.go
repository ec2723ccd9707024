package proc

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"slices"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// slogAdapter is the hclog.Logger go-plugin needs, writing into grpo's slog logger. go-hclog has
// no slog bridge, hence this small adapter. go-plugin logs two kinds of lines through it:
//   - the plugin's own stderr log lines, through a logger Named after the executable: these are
//     forwarded at their level with plugin=<name>;
//   - go-plugin's lifecycle messages (unnamed or other names): forwarded at debug level, because
//     this package reports starts, crashes and restarts itself, with more detail.
type slogAdapter struct {
	log    *slog.Logger
	name   string // hclog name chain
	plugin string // executable base name: lines logged under this name are the plugin's
	args   []any
}

func newSlogAdapter(l *slog.Logger, plugin string) *slogAdapter {
	return &slogAdapter{log: l, plugin: plugin}
}

func (a *slogAdapter) Log(level hclog.Level, msg string, args ...any) {
	lvl := slog.LevelDebug
	if a.name == a.plugin {
		lvl = toSlog(level)
	}
	ctx := context.Background()
	if !a.log.Enabled(ctx, lvl) {
		return
	}
	attrs := make([]any, 0, len(a.args)+len(args)+2)
	if a.name == a.plugin {
		attrs = append(attrs, "plugin", a.plugin)
	} else {
		attrs = append(attrs, "component", "go-plugin")
	}
	attrs = append(attrs, a.args...)
	// go-plugin decodes a plugin's JSON log line into a map and passes its fields in map order,
	// which changes from line to line; sorted by key, a relayed line reads the same every time.
	type field struct {
		key string
		val any
	}
	fields := make([]field, 0, len(args)/2)
	for i := 0; i+1 < len(args); i += 2 {
		// go-plugin appends the entry's own timestamp; slog stamps the record already.
		if k, ok := args[i].(string); ok && k == "timestamp" {
			continue
		}
		fields = append(fields, field{fmt.Sprint(args[i]), args[i+1]})
	}
	slices.SortStableFunc(fields, func(x, y field) int { return strings.Compare(x.key, y.key) })
	for _, f := range fields {
		attrs = append(attrs, f.key, f.val)
	}
	if len(args)%2 == 1 {
		attrs = append(attrs, "extra", args[len(args)-1])
	}
	a.log.Log(ctx, lvl, msg, attrs...)
}

func toSlog(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace, hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

func (a *slogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *slogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *slogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *slogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *slogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }

func (a *slogAdapter) enabled(l slog.Level) bool { return a.log.Enabled(context.Background(), l) }
func (a *slogAdapter) IsTrace() bool             { return a.enabled(slog.LevelDebug) }
func (a *slogAdapter) IsDebug() bool             { return a.enabled(slog.LevelDebug) }
func (a *slogAdapter) IsInfo() bool              { return a.enabled(slog.LevelInfo) }
func (a *slogAdapter) IsWarn() bool              { return a.enabled(slog.LevelWarn) }
func (a *slogAdapter) IsError() bool             { return a.enabled(slog.LevelError) }
func (a *slogAdapter) ImpliedArgs() []any        { return a.args }

func (a *slogAdapter) With(args ...any) hclog.Logger {
	c := *a
	c.args = append(append([]any(nil), a.args...), args...)
	return &c
}

func (a *slogAdapter) Name() string { return a.name }

func (a *slogAdapter) Named(name string) hclog.Logger {
	c := *a
	if c.name == "" {
		c.name = name
	} else {
		c.name += "." + name
	}
	return &c
}

func (a *slogAdapter) ResetNamed(name string) hclog.Logger {
	c := *a
	c.name = name
	return &c
}

// GetLevel reports the lowest level worth sending: go-plugin skips parsing plugin lines below it.
func (a *slogAdapter) GetLevel() hclog.Level {
	switch {
	case a.enabled(slog.LevelDebug):
		return hclog.Trace
	case a.enabled(slog.LevelInfo):
		return hclog.Info
	case a.enabled(slog.LevelWarn):
		return hclog.Warn
	default:
		return hclog.Error
	}
}

// SetLevel is a no-op: the level belongs to grpo's slog handler.
func (a *slogAdapter) SetLevel(hclog.Level) {}

func (a *slogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(opts), "", 0)
}

func (a *slogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return lineWriter(func(line string) { a.Info(line) })
}

// lineWriter calls f for every line written to it (used for the plugin's stdout/stderr streams
// of Go plugins and by StandardWriter).
type lineWriter func(line string)

func (f lineWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if line = strings.TrimRight(line, "\r"); line != "" {
			f(line)
		}
	}
	return len(p), nil
}
