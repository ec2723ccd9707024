package proc

import (
	"context"
	"path/filepath"
	"time"

	"github.com/grpo-dev/grpo/sdk/wire"
)

// Info is what `grpo plugin inspect` shows about a process plugin.
type Info struct {
	Path     string        // absolute path of the executable
	Describe wire.Describe // name, version, kind, description, capabilities
	Protocol int           // application protocol version negotiated in the handshake
	MTLS     bool          // the connection used go-plugin's AutoMTLS
	PID      int           // pid of the process that answered
	Startup  time.Duration // spawn + handshake + Describe
}

// Inspect starts the executable as a plugin of whatever kind it is (every kind's magic cookie
// is set), asks it to describe itself, and stops it. Its log lines go to slog.Default().
func Inspect(ctx context.Context, path string) (Info, error) {
	opts := Options{}.withDefaults(defaultTimeout)
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	began := time.Now()
	inst, err := start(ctx, spec{path: abs, opts: opts})
	if err != nil {
		return Info{}, err
	}
	defer inst.stop()
	return Info{
		Path: abs, Describe: inst.describe, Protocol: inst.protocol, MTLS: inst.mtls,
		PID: inst.runner.pid(), Startup: time.Since(began),
	}, nil
}
