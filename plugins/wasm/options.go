package wasm

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Sandbox modes.
const (
	// SandboxInProcess runs modules in the trainer's process (fast). Loops are interrupted at
	// the deadline; loop-free code (deep recursion) cannot be, see ErrUninterruptible.
	SandboxInProcess = "inprocess"
	// SandboxProcess hosts the module in a child process that is SIGKILLed on a missed deadline:
	// a hard guarantee against hostile plugins, at the cost of a process per worker.
	SandboxProcess = "process"
)

// Options configures how a plugin runs. The zero value gets the defaults documented per field
// (the config keys plugin_timeout, plugin_memory_limit_mb and plugin_sandbox map onto them).
type Options struct {
	// Timeout bounds each call into the plugin (one call scores one chunk of a batch).
	// Default 30 s.
	Timeout time.Duration
	// MemoryLimitMB caps each instance's linear memory. Default 512.
	MemoryLimitMB int
	// Sandbox is SandboxInProcess (default) or SandboxProcess.
	Sandbox string
	// Workers is the number of instances scoring chunks of one batch in parallel.
	// Default: the number of CPUs.
	Workers int
	// ChunkSize is the number of items per guest call. A batch is split at fixed boundaries
	// (independent of Workers, so results do not depend on the pool size). Default 256.
	ChunkSize int
	// CacheDir holds wazero's compilation cache. Default $XDG_CACHE_HOME/grpo/wazero (or
	// ~/.cache/grpo/wazero); "-" disables the cache.
	CacheDir string
	// Settings is the plugin's settings table ([[rewards]] settings), given to grpo_configure
	// (or, for Extism modules, as their config strings).
	Settings map[string]any
	// Logger receives the plugin's log lines and captured stdout/stderr. Default slog.Default().
	Logger *slog.Logger
	// MaxOutputBytes caps one call's output. Default 64 KiB + 16 × the input size.
	MaxOutputBytes int
	// LogBytesPerCall caps what one call may log (stdout, stderr and grpo_host.log together);
	// the rest is dropped with a note. Default 64 KiB.
	LogBytesPerCall int
	// Grace is how long past Timeout the host waits before giving up on a call that ignores
	// the deadline (in-process: the instance is abandoned; process: the child is killed).
	// Default 2 s.
	Grace time.Duration
	// WorkerCommand starts a sandbox child process (SandboxProcess): argv whose process serves
	// ServeWorker on stdin/stdout. Default: this executable with the hidden subcommand
	// WorkerSubcommand.
	WorkerCommand []string

	killedOnDeadline bool
}

// killedOnDeadline is set in a sandbox child: the parent enforces deadlines by killing it.
func (o Options) withKilledOnDeadline() Options { o.killedOnDeadline = true; return o }

// WorkerSubcommand is the hidden subcommand of the grpo binary that runs ServeWorker.
const WorkerSubcommand = "__wasm-worker"

const (
	defaultTimeout     = 30 * time.Second
	defaultMemoryMB    = 512
	defaultChunkSize   = 256
	defaultLogBytes    = 64 << 10
	defaultGrace       = 2 * time.Second
	wasmPageBytes      = 64 << 10
	maxMemoryLimitMB   = 4096 // wasm32 addresses 4 GiB at most
	extraOutputAllowed = 64 << 10
)

// withDefaults fills zero fields.
func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.MemoryLimitMB <= 0 {
		o.MemoryLimitMB = defaultMemoryMB
	}
	o.MemoryLimitMB = min(o.MemoryLimitMB, maxMemoryLimitMB)
	if o.Sandbox == "" {
		o.Sandbox = SandboxInProcess
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = defaultChunkSize
	}
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LogBytesPerCall <= 0 {
		o.LogBytesPerCall = defaultLogBytes
	}
	if o.Grace <= 0 {
		o.Grace = defaultGrace
	}
	return o
}

// memoryLimitPages is the per-instance cap in 64 KiB wasm pages.
func (o Options) memoryLimitPages() uint32 {
	return uint32(o.MemoryLimitMB) * (1 << 20 / wasmPageBytes)
}

// maxOutput is the output cap for an input of n bytes.
func (o Options) maxOutput(n int) int {
	if o.MaxOutputBytes > 0 {
		return o.MaxOutputBytes
	}
	return extraOutputAllowed + 16*n
}

// DefaultCacheDir is where compiled modules are cached: $XDG_CACHE_HOME/grpo/wazero, else
// ~/.cache/grpo/wazero, else a folder in the temp dir.
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "grpo", "wazero")
	}
	return filepath.Join(os.TempDir(), "grpo-wazero-cache")
}
