package train

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// NotifyInterrupt turns Ctrl-C (SIGINT) and SIGTERM into a graceful stop: the first signal
// closes stop (pass it as Options.Stop: the running step finishes, a checkpoint is saved, Run
// returns ErrStopped); the second cancels the returned context (the step is abandoned); a third
// exits the process at once with status 130. Call release when training is over to restore the
// default signal handling.
func NotifyInterrupt(parent context.Context) (ctx context.Context, stop <-chan struct{}, release func()) {
	ctx, cancel := context.WithCancel(parent)
	stopCh := make(chan struct{})
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-done:
				return
			case <-sigs:
				n++
				switch n {
				case 1:
					fmt.Fprintln(os.Stderr, "\ngrpo: stopping after this step and saving a checkpoint (Ctrl-C again to stop now, a third time to quit at once)")
					close(stopCh)
				case 2:
					fmt.Fprintln(os.Stderr, "\ngrpo: abandoning the current step; the last checkpoint stays")
					cancel()
				default:
					os.Exit(130)
				}
			}
		}
	}()
	return ctx, stopCh, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}
