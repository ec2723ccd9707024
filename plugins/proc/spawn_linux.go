package proc

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// Plugins must not outlive grpo, even when grpo is killed with SIGKILL and runs no cleanup. Linux
// sends a process's parent-death signal (PR_SET_PDEATHSIG) when the *thread* that forked it exits,
// not the whole parent process (golang/go#27505), and the Go runtime retires threads freely. So
// every plugin is forked from one goroutine locked to its OS thread for the life of grpo: that
// thread exits only when grpo does, and the kernel then SIGKILLs every plugin. The SDKs also watch
// their parent pid, which covers a plugin's own children and hosts other than grpo.
var spawner struct {
	once sync.Once
	reqs chan spawnRequest
}

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

func startProcess(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as grpo
			for req := range spawner.reqs {
				req.done <- req.cmd.Start()
			}
		}()
	})
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Pdeathsig: syscall.SIGKILL,
		// Own process group: a terminal's Ctrl-C reaches grpo only (grpo stops its plugins
		// itself), and Kill can take a launcher script's children along.
		Setpgid: true,
	}
	done := make(chan error, 1)
	spawner.reqs <- spawnRequest{cmd: cmd, done: done}
	return <-done
}

func killGroup(pid int) error {
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
		return syscall.Kill(pid, syscall.SIGKILL)
	}
	return nil
}
