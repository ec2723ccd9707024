package grpoproc

import (
	"log/slog"
	"os"
	"time"
)

// parentPoll is how often the plugin checks that grpo is still alive.
const parentPoll = 500 * time.Millisecond

// watchParent exits the plugin when the process that started it dies. grpo also starts plugins
// with a parent-death signal (plugins/proc), but that covers only the direct child on Linux and
// only when the host is grpo; polling the parent pid covers the rest (go-plugin issues #10,
// #210: plugins outliving a killed host). When the parent dies the kernel re-parents the plugin,
// so its parent pid changes.
func watchParent(log *slog.Logger) {
	ppid := os.Getppid()
	if ppid <= 1 {
		return // already orphaned or started by init: nothing to watch
	}
	go func() {
		for range time.Tick(parentPoll) {
			if os.Getppid() != ppid {
				log.Warn("grpo (the parent process) is gone; exiting", "parent_pid", ppid)
				os.Exit(1)
			}
		}
	}()
}
