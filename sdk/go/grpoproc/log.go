package grpoproc

import (
	"log/slog"
	"os"
	"sync"
)

// hclogTime is the timestamp layout go-plugin's host expects in "@timestamp"; a line with any
// other layout is not parsed and reaches grpo's log only at debug level.
const hclogTime = "2006-01-02T15:04:05.000000Z07:00"

var (
	logOnce sync.Once
	logger  *slog.Logger
)

// Log returns the plugin's logger. It writes JSON lines on stderr in hclog's field names
// ("@message", "@level", "@timestamp"), which the host parses and re-emits into grpo's log at the
// same level with the plugin's name attached. Plain stderr writes also reach grpo's log, at
// debug level; stdout is reserved for the go-plugin handshake.
func Log() *slog.Logger {
	logOnce.Do(func() {
		h := slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{
			Level: slog.LevelDebug,
			ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if len(groups) > 0 {
					return a
				}
				switch a.Key {
				case slog.TimeKey:
					return slog.String("@timestamp", a.Value.Time().Format(hclogTime))
				case slog.LevelKey:
					return slog.String("@level", a.Value.String())
				case slog.MessageKey:
					return slog.String("@message", a.Value.String())
				}
				return a
			},
		})
		logger = slog.New(h)
	})
	return logger
}
