package wasm

import (
	"syscall"
)

// childProcAttr makes the kernel SIGKILL the sandbox process if the thread that started it
// dies (Pdeathsig is per thread: golang/go#27505; the child also exits on stdin EOF, which
// covers the host process dying).
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
