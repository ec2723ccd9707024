// Package accel chooses the GoMLX compute backend every model and graph of grpo runs on.
//
// The choice is GOMLX_BACKEND: unset or "go" is GoMLX's pure-Go backend (any machine, used by
// tests and CI); "xla:/abs/path/xla_cuda_plugin.so" is XLA through a PJRT plugin (CUDA GPUs).
// GoMLX's PJRT auto-installer downloads plugins from the internet; grpo never lets it run,
// because a trainer must not fetch binaries at start-up (and the machines it runs on often
// cannot).
package accel

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // the pure-Go backend
	"github.com/gomlx/go-xla/compute/xla"  // XLA via PJRT (plugins given by absolute path)
)

// EnvVar names the environment variable holding the backend configuration.
const EnvVar = compute.ConfigEnvVar

// DefaultConfig is used when GOMLX_BACKEND is unset.
const DefaultConfig = "go"

func init() { xla.EnableAutoInstall(false) }

// Config returns the backend configuration in effect: GOMLX_BACKEND, or DefaultConfig.
func Config() string {
	if c := strings.TrimSpace(os.Getenv(EnvVar)); c != "" {
		return c
	}
	return DefaultConfig
}

// New creates a backend for config ("" means Config()).
func New(config string) (compute.Backend, error) {
	if config == "" {
		config = Config()
	}
	b, err := newRecovered(config)
	if err != nil {
		return nil, fmt.Errorf("creating compute backend %q (set %s, e.g. %q or %q): %w",
			config, EnvVar, "go", "xla:/abs/path/to/xla_cuda_plugin.so", err)
	}
	return b, nil
}

var (
	sharedOnce sync.Once
	shared     compute.Backend
	sharedErr  error
)

// Shared returns one process-wide backend for Config(), created on first use. Models, samplers
// and trainers in one process share it so that tensors move between them without copies.
func Shared() (compute.Backend, error) {
	sharedOnce.Do(func() { shared, sharedErr = New("") })
	return shared, sharedErr
}

// MustShared is Shared for tests and examples: it panics on error.
func MustShared() compute.Backend {
	b, err := Shared()
	if err != nil {
		panic(err)
	}
	return b
}

// newRecovered calls compute.NewWithConfig, turning its panics (it panics on an unknown backend
// name) into errors.
func newRecovered(config string) (b compute.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return compute.NewWithConfig(config)
}
