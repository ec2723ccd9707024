package wasm

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestCacheKeepsDeadlineChecks: a sandbox child compiles modules without deadline checks and
// in-process hosts with them, into the same compilation cache. wazero keeps them apart (its
// module ID hashes the ensure-termination flag: internal/wasm/module.go AssignModuleID); this
// guards that an in-process loop still stops at its deadline after a child cached the module.
func TestCacheKeepsDeadlineChecks(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	opts := processOpts(t)
	opts.CacheDir = cache
	r := openReward(t, "sentinel", opts) // the child compiles and caches the module first
	if _, err := r.Score(context.Background(), 0, samples("a")); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if entries, _ := filepath.Glob(filepath.Join(cache, "*", "*")); len(entries) == 0 {
		t.Fatalf("the sandbox child cached nothing in %s", cache)
	}
	opts = testOpts(t)
	opts.CacheDir = cache
	opts.Timeout, opts.Grace = 300*time.Millisecond, 700*time.Millisecond
	r = openReward(t, "sentinel", opts)
	_, err := r.Score(context.Background(), 0, samples("loop"))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("in-process loop after a sandbox child cached it: err = %v, want ErrTimeout", err)
	}
}
