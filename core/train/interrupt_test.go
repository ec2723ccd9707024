package train

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// TestNotifyInterrupt: the first SIGINT closes stop (graceful), the second cancels the context.
func TestNotifyInterrupt(t *testing.T) {
	ctx, stop, release := NotifyInterrupt(context.Background())
	defer release()
	wait := func(ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not happen", what)
		}
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	wait(stop, "stop after the first SIGINT")
	if ctx.Err() != nil {
		t.Fatal("the first SIGINT cancelled the context")
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	wait(ctx.Done(), "cancellation after the second SIGINT")
}
