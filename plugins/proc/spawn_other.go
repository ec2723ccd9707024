//go:build !linux

package proc

import (
	"os"
	"os/exec"
)

// startProcess starts the plugin. Outside Linux there is no parent-death signal; the SDKs' parent
// watching is what stops a plugin whose host died.
func startProcess(cmd *exec.Cmd) error { return cmd.Start() }

func killGroup(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
