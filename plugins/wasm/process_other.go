//go:build !linux

package wasm

import "syscall"

// childProcAttr: no parent-death signal outside Linux; the child exits on stdin EOF.
func childProcAttr() *syscall.SysProcAttr { return nil }
