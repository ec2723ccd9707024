// Package wasmtest builds WebAssembly test plugins from source for the tests of grpo's plugin
// host, SDKs and shipped rewards: Go (GOOS=wasip1), WAT (wabt's wat2wasm), C (clang + wasi-libc),
// Rust (Debian's rustc/cargo) and AssemblyScript (asc from tools/node_modules, installed by
// scripts/setup.d/10-wasm-toolchains.sh).
//
// Builds run once per test binary (from TestMain) into a temporary directory. A missing
// toolchain skips the tests that need it, unless GRPO_REQUIRE_TESTDATA=1 (set by
// scripts/test.sh), which makes them fail.
package wasmtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Set is a set of built plugins, by name, with the errors of those that failed to build.
type Set struct {
	Dir    string
	mu     sync.Mutex
	paths  map[string]string
	errors map[string]error
}

// NewSet makes a Set building into a fresh temporary directory (removed by Cleanup).
func NewSet() (*Set, error) {
	dir, err := os.MkdirTemp("", "grpo-wasmtest-")
	if err != nil {
		return nil, err
	}
	return &Set{Dir: dir, paths: map[string]string{}, errors: map[string]error{}}, nil
}

// Cleanup removes the build directory.
func (s *Set) Cleanup() { _ = os.RemoveAll(s.Dir) }

func (s *Set) record(name, path string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errors[name] = err
		return
	}
	s.paths[name] = path
}

// Path returns the built plugin's file, or fails (GRPO_REQUIRE_TESTDATA=1) or skips the test
// when it could not be built.
func (s *Set) Path(t testing.TB, name string) string {
	t.Helper()
	s.mu.Lock()
	p, ok := s.paths[name]
	err := s.errors[name]
	s.mu.Unlock()
	if ok {
		return p
	}
	if err == nil {
		err = fmt.Errorf("no test plugin %q was built", name)
	}
	if os.Getenv("GRPO_REQUIRE_TESTDATA") == "1" {
		t.Fatalf("test plugin %s: %v", name, err)
	}
	t.Skipf("test plugin %s unavailable (run scripts/setup.d/10-wasm-toolchains.sh): %v", name, err)
	return ""
}

// Go builds the Go package at pkgDir (run from dir; "" = current directory) as a wasip1
// reactor module.
func (s *Set) Go(name, dir, pkgDir string) {
	out := filepath.Join(s.Dir, name+".wasm")
	err := Run(dir, []string{"GOOS=wasip1", "GOARCH=wasm"},
		"go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, pkgDir)
	s.record(name, out, err)
}

// WAT assembles a .wat file with wat2wasm.
func (s *Set) WAT(name, src string) {
	out := filepath.Join(s.Dir, name+".wasm")
	s.record(name, out, Run("", nil, "wat2wasm", src, "-o", out))
}

// Command runs argv (in dir) and records out as the plugin it builds.
func (s *Set) Command(name, out, dir string, env []string, argv ...string) {
	s.record(name, out, Run(dir, env, argv[0], argv[1:]...))
}

// Add records a plugin built some other way (or the error of building it).
func (s *Set) Add(name, path string, err error) { s.record(name, path, err) }

// Run runs a build command with extra environment, returning its output in the error.
func Run(dir string, env []string, name string, args ...string) error {
	if _, err := exec.LookPath(name); err != nil {
		return fmt.Errorf("%s not found: %w", name, err)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}

// RepoRoot finds the repository root (the directory holding go.mod) above the current directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the current directory")
		}
		dir = parent
	}
}
