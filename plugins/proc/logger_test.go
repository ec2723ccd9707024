package proc

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestPluginLogFieldsAreSorted: go-plugin hands a plugin's log fields over in map order; the
// adapter relays them sorted by key, without go-plugin's timestamp, after plugin=<name>, so the
// same plugin line always reads the same. Lines of other loggers go to debug as go-plugin's.
func TestPluginLogFieldsAreSorted(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	a := newSlogAdapter(base, "echo")
	plugin := a.Named("echo")
	for _, order := range [][]any{
		{"step", 1, "timestamp", "t0", "model_type", "qwen2"},
		{"model_type", "qwen2", "step", 1, "timestamp", "t0"},
	} {
		plugin.Warn("weights synced", order...)
	}
	a.Info("starting plugin", "path", "/x/echo")
	want := `level=WARN msg="weights synced" plugin=echo model_type=qwen2 step=1
level=WARN msg="weights synced" plugin=echo model_type=qwen2 step=1
level=DEBUG msg="starting plugin" component=go-plugin path=/x/echo
`
	if got := buf.String(); got != want {
		t.Fatalf("relayed lines:\n%s\nwant:\n%s", got, want)
	}
	var _ hclog.Logger = a
}
