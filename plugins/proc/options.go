package proc

import (
	"log/slog"
	"time"
)

// Options are the host's policy for one plugin process.
type Options struct {
	// Timeout is the deadline of one call (a reward batch, a render, a generation batch). A call
	// that misses it fails with ErrTimeout and the process is killed (its handler may still be
	// running) and restarted for the next call. Default 30 s (config plugin_timeout); generators
	// default to 10 min.
	Timeout time.Duration
	// StartTimeout bounds start-up: spawn, handshake, Describe and Configure. Default 1 min (a
	// Python plugin importing a large library needs seconds).
	StartTimeout time.Duration
	// Restarts is how many times in a row a crashed or hung plugin is restarted before the host
	// gives up on it (ErrGaveUp on every later call). A successful call resets the count.
	// 0 means the default, 3; negative means never restart.
	Restarts int
	// Backoff is the wait before the first restart; each consecutive restart doubles it, up to
	// 30 s. Default 200 ms.
	Backoff time.Duration
	// Logger receives the plugin's log lines (at their level, with plugin=<name>) and the host's
	// reports (start, crash with exit status and last stderr lines, restart). Default
	// slog.Default().
	Logger *slog.Logger
	// Args are extra command-line arguments for the executable.
	Args []string
	// Env adds KEY=VALUE entries to the plugin's environment.
	Env []string
	// SkipHostEnv starts the plugin without grpo's environment (tokens, keys): only Env and the
	// go-plugin handshake variables.
	SkipHostEnv bool
	// SHA256, when set (hex), must match the executable's checksum before it is started.
	SHA256 string
	// NoMTLS turns go-plugin's AutoMTLS off, for a plugin whose gRPC stack cannot present the
	// certificate. The unix socket still lives in a private (0700) directory. The Go and Python
	// SDKs support AutoMTLS; leave this off for them.
	NoMTLS bool
}

const (
	defaultTimeout          = 30 * time.Second
	defaultGeneratorTimeout = 10 * time.Minute
	defaultStartTimeout     = time.Minute
	defaultRestarts         = 3
	defaultBackoff          = 200 * time.Millisecond
	maxBackoff              = 30 * time.Second
	// stderrLines is how many of the plugin's last stderr lines a crash report carries.
	stderrLines = 20
)

func (o Options) withDefaults(timeout time.Duration) Options {
	if o.Timeout <= 0 {
		o.Timeout = timeout
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = defaultStartTimeout
	}
	if o.Restarts == 0 {
		o.Restarts = defaultRestarts
	} else if o.Restarts < 0 {
		o.Restarts = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = defaultBackoff
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// backoff is the wait before the n-th consecutive restart (n ≥ 1): Backoff·2^(n−1), capped.
func (o Options) backoff(n int) time.Duration {
	d := o.Backoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}
