package proc

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"sync"
)

// processRunner is the go-plugin runner.Runner for one plugin process. go-plugin's own command
// runner is internal to it, and it would start the process from whatever OS thread the caller
// runs on; this one starts it through startProcess (a parent-death signal from a thread that
// never exits, see spawn_linux.go), in its own process group, and keeps the exit status for crash
// reports.
type processRunner struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser
	stderr io.ReadCloser

	mu     sync.Mutex
	exited bool
	status string // "exit status 3", "signal: killed"
	done   chan struct{}
}

func newProcessRunner(cmd *exec.Cmd) (*processRunner, error) {
	r := &processRunner{cmd: cmd, done: make(chan struct{})}
	var err error
	if r.stdout, err = cmd.StdoutPipe(); err != nil {
		return nil, err
	}
	if r.stderr, err = cmd.StderrPipe(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *processRunner) Start(context.Context) error {
	if err := startProcess(r.cmd); err != nil {
		return err
	}
	return nil
}

// Wait reaps the process. go-plugin calls it once, from its own goroutine.
func (r *processRunner) Wait(context.Context) error {
	err := r.cmd.Wait()
	r.mu.Lock()
	r.exited = true
	if r.cmd.ProcessState != nil {
		r.status = r.cmd.ProcessState.String()
	}
	r.mu.Unlock()
	close(r.done)
	return err
}

// Kill SIGKILLs the plugin's whole process group (a launcher script's children too) while the
// process has not been reaped (afterwards its pid may belong to someone else).
func (r *processRunner) Kill(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.exited || r.cmd.Process == nil {
		return nil
	}
	return killGroup(r.cmd.Process.Pid)
}

// exitStatus returns the exit status once the process has been reaped.
func (r *processRunner) exitStatus() (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status, r.exited
}

func (r *processRunner) pid() int {
	if r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

func (r *processRunner) Stdout() io.ReadCloser { return r.stdout }
func (r *processRunner) Stderr() io.ReadCloser { return r.stderr }
func (r *processRunner) Name() string          { return r.cmd.Path }
func (r *processRunner) ID() string {
	if r.cmd.Process == nil {
		return ""
	}
	return strconv.Itoa(r.cmd.Process.Pid)
}

func (r *processRunner) Diagnose(context.Context) string {
	if st, ok := r.exitStatus(); ok {
		return fmt.Sprintf("the plugin process had already exited (%s)", st)
	}
	return ""
}

func (r *processRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *processRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}
