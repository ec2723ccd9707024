package wasm

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"time"
)

// child is a sandbox worker process (SandboxProcess) hosting one instance of the plugin.
type child struct {
	path  string
	opts  Options
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	info  openInfo
	exitC chan struct{} // closed when the process has exited
	tail  *capture      // the child's last stderr bytes, for error messages
}

// startChild starts a worker process and opens the plugin in it.
func startChild(ctx context.Context, path string, opts Options) (*child, error) {
	argv := opts.WorkerCommand
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, pluginErr(path, "open", ErrInstantiate, err, "cannot find the grpo executable to start the sandbox process")
		}
		argv = []string{exe, WorkerSubcommand}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = childProcAttr()
	c := &child{path: path, opts: opts, cmd: cmd, exitC: make(chan struct{}), tail: newCapture(slog.New(slog.DiscardHandler), 0)}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, pluginErr(path, "open", ErrInstantiate, err, "sandbox process pipes")
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, pluginErr(path, "open", ErrInstantiate, err, "sandbox process pipes")
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, pluginErr(path, "open", ErrInstantiate, err, "sandbox process pipes")
	}
	if err := cmd.Start(); err != nil {
		return nil, pluginErr(path, "open", ErrInstantiate, err, "cannot start the sandbox process %q", argv[0])
	}
	c.in, c.out = stdin, bufio.NewReader(stdout)
	logsDone := make(chan struct{})
	go func() { c.forwardLogs(stderr); close(logsDone) }()
	go func() { <-logsDone; _ = cmd.Wait(); close(c.exitC) }()

	open, _ := json.Marshal(workerOpen{
		Path: path, TimeoutNS: int64(opts.Timeout), MemoryLimitMB: opts.MemoryLimitMB, CacheDir: opts.CacheDir,
		Settings: opts.Settings, MaxOutputBytes: opts.MaxOutputBytes, LogBytesPerCall: opts.LogBytesPerCall,
	})
	// Opening compiles the module (seconds for a large Go guest without a warm cache) and runs
	// its start-up code, under the same deadline as a call.
	payload, err := c.roundTrip(ctx, "open", frameOpen, open)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(payload, &c.info); err != nil {
		c.close()
		return nil, pluginErr(path, "open", ErrInstantiate, err, "bad open reply from the sandbox process")
	}
	return c, nil
}

// forwardLogs re-emits the child's JSON log lines through the host logger.
func (c *child) forwardLogs(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		c.tail.mu.Lock()
		c.tail.keepTail(append(append([]byte(nil), line...), '\n'))
		c.tail.mu.Unlock()
		var rec map[string]any
		if json.Unmarshal(line, &rec) != nil {
			c.opts.Logger.Info(string(line), "stream", "sandbox")
			continue
		}
		var lvl slog.Level
		_ = lvl.UnmarshalText([]byte(fmt.Sprint(rec["level"])))
		msg := fmt.Sprint(rec["msg"])
		delete(rec, "level")
		delete(rec, "msg")
		delete(rec, "time")
		attrs := make([]any, 0, 2*len(rec))
		for _, k := range sortedKeys(rec) {
			attrs = append(attrs, k, rec[k])
		}
		c.opts.Logger.Log(context.Background(), lvl, msg, attrs...)
	}
}

func (c *child) call(ctx context.Context, op string, input []byte, seed int64, offset int) ([]byte, error) {
	typ := byte(frameReward)
	if op == "render" {
		typ = frameRender
	}
	var hdr [16]byte
	binary.BigEndian.PutUint64(hdr[0:], uint64(seed))
	binary.BigEndian.PutUint64(hdr[8:], uint64(offset))
	return c.roundTrip(ctx, op, typ, hdr[:], input)
}

// roundTrip sends one frame and waits for the reply. If none comes within Timeout + Grace (or
// ctx ends), the process is killed: whatever the guest code does, the call ends.
func (c *child) roundTrip(ctx context.Context, op string, typ byte, parts ...[]byte) ([]byte, error) {
	type reply struct {
		typ     byte
		payload []byte
		err     error
	}
	done := make(chan reply, 1)
	go func() {
		if err := writeFrame(c.in, typ, parts...); err != nil {
			done <- reply{err: err}
			return
		}
		t, p, err := readFrame(c.out)
		done <- reply{t, p, err}
	}()
	limit := c.opts.Timeout + c.opts.Grace
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case r := <-done:
		switch {
		case r.err != nil:
			c.kill()
			return nil, &Error{Plugin: c.path, Op: op, Kind: ErrTrap, Err: r.err,
				Detail: "the sandbox process died: " + c.exitStatus(), Stderr: c.tail.Tail()}
		case r.typ == frameError:
			return nil, decodeError(c.path, r.payload)
		case r.typ != frameOK:
			c.kill()
			return nil, pluginErr(c.path, op, ErrTrap, nil, "the sandbox process sent an unexpected frame %q", r.typ)
		}
		return r.payload, nil
	case <-timer.C:
		c.kill()
		return nil, pluginErr(c.path, op, ErrTimeout, nil, "no answer %s after the %s deadline; the sandbox process was killed", c.opts.Grace, c.opts.Timeout)
	case <-ctx.Done():
		c.kill()
		return nil, &Error{Plugin: c.path, Op: op, Kind: ctx.Err(), Detail: "the caller cancelled the call; the sandbox process was killed"}
	}
}

func (c *child) exitStatus() string {
	select {
	case <-c.exitC:
		return c.cmd.ProcessState.String()
	case <-time.After(time.Second):
		return "no exit status yet"
	}
}

// kill SIGKILLs the process and reaps it.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exitC
}

// close ends the process: stdin EOF makes it exit; it is killed if it does not within 1 s.
func (c *child) close() {
	_ = c.in.Close()
	select {
	case <-c.exitC:
	case <-time.After(time.Second):
		c.kill()
	}
}
