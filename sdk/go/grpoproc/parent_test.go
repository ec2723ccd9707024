package grpoproc

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grpo-dev/grpo/sdk/proto/pluginpb"
	"github.com/grpo-dev/grpo/sdk/wire"
)

const fixtureEnv = "GRPOPROC_FIXTURE"

func TestMain(m *testing.M) {
	if os.Getenv(fixtureEnv) == "reward" {
		ServeReward(func(context.Context, wire.Batch) (wire.Result, error) { return wire.Result{}, nil })
	}
	os.Exit(m.Run())
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

// TestPluginExitsWhenParentDies starts the plugin from a shell that exits at once, as a host that
// died without stopping its plugin would: the plugin must notice and exit by itself. Its output
// goes to /dev/null, so no SIGPIPE can stop it instead; the shell waits until the plugin watches.
func TestPluginExitsWhenParentDies(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ck := pluginpb.Cookies[wire.KindReward]
	cmd := exec.Command("/bin/sh", "-c", `"$0" >/dev/null 2>&1 & echo $!; sleep 0.5`, self)
	cmd.Env = append(os.Environ(), fixtureEnv+"=reward", ck.Key+"="+ck.Value, "PLUGIN_PROTOCOL_VERSIONS=1",
		"TMPDIR="+t.TempDir()) // the killed plugin leaves its socket directory behind
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("shell printed %q", line)
	}
	_ = cmd.Wait() // the shell exits: the plugin is orphaned
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscallKill(pid)
			t.Fatalf("orphaned plugin %d still running %v after its parent exited", pid, 5*time.Second)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunByHandExplainsItself(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fixtureEnv+"=reward")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "is a grpo reward plugin") {
		t.Fatalf("err=%v output=%q", err, out)
	}
	ck := pluginpb.Cookies[wire.KindTemplate]
	cmd = exec.Command(self)
	cmd.Env = append(os.Environ(), fixtureEnv+"=reward", ck.Key+"="+ck.Value)
	out, _ = cmd.CombinedOutput()
	if !strings.Contains(string(out), "grpo started it as a template plugin") {
		t.Fatalf("wrong kind: output=%q", out)
	}
}

func syscallKill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
