package proc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpo-dev/grpo/core/generate"
	"github.com/grpo-dev/grpo/core/reward"
	"github.com/grpo-dev/grpo/sdk/wire"
)

// self is the test binary, which doubles as every fixture plugin.
func self(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func samples(completions ...string) []reward.Sample {
	s := make([]reward.Sample, len(completions))
	for i, c := range completions {
		s[i] = reward.Sample{Prompt: "p", Completion: c, Metadata: map[string]any{"answer": "1"}}
	}
	return s
}

// children lists the live (or unreaped) child processes of this test process, from /proc.
func children(t *testing.T) []string {
	t.Helper()
	me := strconv.Itoa(os.Getpid())
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces, so split after the last ')'.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == me {
			out = append(out, e.Name()+" ("+f[0]+")")
		}
	}
	return out
}

// assertNoChildren fails if a plugin process outlives its host object.
func assertNoChildren(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		c := children(t)
		if len(c) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("child processes left behind: %v", c)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pidAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

func openFixture(t *testing.T, mode string, opts Options) *Reward {
	t.Helper()
	r, err := OpenReward(context.Background(), self(t), nil, opts)
	if err != nil {
		t.Fatalf("OpenReward(%s): %v", mode, err)
	}
	return r
}

func TestRewardScoresAndReusesProcess(t *testing.T) {
	r := openFixture(t, "reward", fixtureOpts("reward"))
	if r.Name() != "fixture-reward" || r.Describe().Version != "0.1" || r.Describe().Kind != wire.KindReward {
		t.Errorf("describe = %+v", r.Describe())
	}
	pid := r.h.cur.runner.pid()
	if !r.h.cur.mtls || r.h.cur.protocol != 1 {
		t.Errorf("mtls=%v protocol=%d, want AutoMTLS on and protocol 1", r.h.cur.mtls, r.h.cur.protocol)
	}
	for round := 0; round < 3; round++ {
		got, err := r.Score(context.Background(), 7, samples("a", "abcd", "NO_SCORE", ""))
		if err != nil {
			t.Fatal(err)
		}
		want := []float64{1, 4, math.NaN(), 0}
		for i := range want {
			if !(got.Values[i] == want[i] || math.IsNaN(got.Values[i]) && math.IsNaN(want[i])) {
				t.Fatalf("round %d: values = %v, want %v", round, got.Values, want)
			}
		}
	}
	if p := r.h.cur.runner.pid(); p != pid {
		t.Errorf("process was not reused: pid %d then %d", pid, p)
	}
	began := time.Now()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// A plugin that ignores Shutdown is SIGKILLed after go-plugin's 2 s wait; faster means it stopped itself.
	if d := time.Since(began); d > 1900*time.Millisecond {
		t.Errorf("Close took %v: the plugin did not shut down gracefully", d)
	}
	if _, err := r.Score(context.Background(), 0, samples("a")); !errors.Is(err, ErrClosed) {
		t.Errorf("Score after Close: %v, want ErrClosed", err)
	}
	assertNoChildren(t)
}

func TestCrashMidBatchRestartsAndRetriesOnce(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "crashed")
	r := openFixture(t, "reward", fixtureOpts("reward"))
	defer r.Close()
	pid := r.h.cur.runner.pid()
	got, err := r.Score(context.Background(), 0, samples("ab", "CRASH_ONCE:"+marker))
	if err != nil {
		t.Fatalf("a plugin that crashes once must be restarted and the batch retried: %v", err)
	}
	if got.Values[0] != 2 || got.Values[1] != float64(len("CRASH_ONCE:"+marker)) {
		t.Errorf("values after retry = %v", got.Values)
	}
	if r.h.cur.runner.pid() == pid {
		t.Error("the plugin was not restarted")
	}
	if pidAlive(pid) {
		t.Errorf("crashed plugin pid %d still alive", pid)
	}
	r.Close()
	assertNoChildren(t)
}

func TestCrashEveryTimeNamesExitStatusAndStderrThenGivesUp(t *testing.T) {
	opts := fixtureOpts("reward")
	opts.Restarts = 2
	r := openFixture(t, "reward", opts)
	defer r.Close()
	_, err := r.Score(context.Background(), 0, samples("CRASH"))
	var pe *Error
	if !errors.As(err, &pe) || !errors.Is(err, ErrCrashed) {
		t.Fatalf("err = %v, want an *Error wrapping ErrCrashed", err)
	}
	if pe.Exit != "exit status 3" || pe.Op != "score" || !strings.Contains(strings.Join(pe.Stderr, "\n"), "about to crash on purpose") {
		t.Errorf("crash report: exit=%q op=%q stderr=%q", pe.Exit, pe.Op, pe.Stderr)
	}
	if !strings.Contains(err.Error(), self(t)) {
		t.Errorf("message does not name the plugin: %v", err)
	}
	// Failures so far: 2 (first try + retry). Next call: restart #2, crash, restart #3 refused.
	_, err = r.Score(context.Background(), 0, samples("CRASH"))
	if !errors.Is(err, ErrCrashed) && !errors.Is(err, ErrGaveUp) {
		t.Fatalf("second batch: %v", err)
	}
	_, err = r.Score(context.Background(), 0, samples("fine"))
	if !errors.Is(err, ErrGaveUp) {
		t.Fatalf("after %d restarts: err = %v, want ErrGaveUp", opts.Restarts, err)
	}
	r.Close()
	assertNoChildren(t)
}

func TestHangTimesOutKillsAndNextCallRestarts(t *testing.T) {
	opts := fixtureOpts("reward")
	opts.Timeout = 300 * time.Millisecond
	r := openFixture(t, "reward", opts)
	defer r.Close()
	pid := r.h.cur.runner.pid()
	began := time.Now()
	_, err := r.Score(context.Background(), 0, samples("HANG"))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("timed-out call returned after %v (timeout 300ms)", d)
	}
	if pidAlive(pid) {
		t.Errorf("hung plugin pid %d still alive after the timeout", pid)
	}
	got, err := r.Score(context.Background(), 0, samples("abc"))
	if err != nil || got.Values[0] != 3 {
		t.Fatalf("next batch after a timeout: %v %v", got.Values, err)
	}
	r.Close()
	assertNoChildren(t)
}

func TestStartFailures(t *testing.T) {
	for _, tc := range []struct {
		mode, want string
		wantErr    error
	}{
		{"exit_at_start", "cannot find my model file", ErrStart},
		{"bad_handshake", "Unrecognized remote plugin message: hello from a chatty plugin", ErrStart},
		{"protocol_v2", "incompatible API version with plugin. Plugin version: 2, Client versions: [1]", ErrStart},
		{"no_mtls", "did not present a TLS certificate", ErrStart},
		{"template", "proc.test is a grpo template plugin, but grpo started it as a reward plugin", ErrStart},
		{"wrong_kind", `describe says kind "template", but it was started as a reward plugin`, ErrStart},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			_, err := OpenReward(context.Background(), self(t), nil, fixtureOpts(tc.mode))
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant %v containing %q", err, tc.wantErr, tc.want)
			}
			assertNoChildren(t)
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := OpenReward(context.Background(), "/nonexistent/plugin", nil, Options{})
		if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), "/nonexistent/plugin") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("bad checksum", func(t *testing.T) {
		opts := fixtureOpts("reward")
		opts.SHA256 = strings.Repeat("0", 64)
		_, err := OpenReward(context.Background(), self(t), nil, opts)
		if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), "sha256") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("rejected settings", func(t *testing.T) {
		_, err := OpenReward(context.Background(), self(t), map[string]any{"reject": 1}, fixtureOpts("reward"))
		if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), "setting reject=1 is not allowed") {
			t.Fatalf("err = %v", err)
		}
		assertNoChildren(t)
	})
}

func TestNoMTLSOption(t *testing.T) {
	opts := fixtureOpts("no_mtls")
	opts.NoMTLS = true
	r := openFixture(t, "no_mtls", opts)
	got, err := r.Score(context.Background(), 0, samples("xy"))
	if err != nil || got.Values[0] != 2 {
		t.Fatalf("%v %v", got.Values, err)
	}
	r.Close()
	assertNoChildren(t)
}

func TestProtocolViolationsAndPluginErrors(t *testing.T) {
	r := openFixture(t, "reward", fixtureOpts("reward"))
	defer r.Close()
	pid := r.h.cur.runner.pid()
	for _, tc := range []struct {
		completions []string
		want        error
		msg         string
	}{
		{[]string{"a", "WRONG_COUNT", "c"}, ErrProtocol, "1 rewards for a batch of 3 items"},
		{[]string{"ERROR"}, ErrPlugin, "fixture refuses this batch"},
		{[]string{"PANIC"}, ErrPlugin, "panic in score: fixture panic"},
	} {
		_, err := r.Score(context.Background(), 0, samples(tc.completions...))
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: err = %v, want %v with %q", tc.completions, err, tc.want, tc.msg)
		}
	}
	// None of these is a crash: the same process still serves.
	if got, err := r.Score(context.Background(), 0, samples("ok")); err != nil || got.Values[0] != 2 {
		t.Fatalf("healthy batch after errors: %v %v", got.Values, err)
	}
	if r.h.cur.runner.pid() != pid {
		t.Error("a plugin error restarted the process")
	}

	g, err := OpenReward(context.Background(), self(t), nil, fixtureOpts("garbage"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := g.Score(context.Background(), 0, samples("a")); !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "not a wire.Result JSON") {
		t.Errorf("garbage reply: %v", err)
	}
}

// syncHandler records log records.
type syncHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *syncHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *syncHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *syncHandler) WithAttrs(as []slog.Attr) slog.Handler { return &attrHandler{h, as} }
func (h *syncHandler) WithGroup(string) slog.Handler         { return h }

type attrHandler struct {
	*syncHandler
	attrs []slog.Attr
}

func (h *attrHandler) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(h.attrs...)
	return h.syncHandler.Handle(ctx, r)
}

func (h *syncHandler) find(msg string) (slog.Record, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		if r.Message == msg {
			return r, true
		}
	}
	return slog.Record{}, false
}

func TestPluginLogsReachSlogAtTheirLevel(t *testing.T) {
	h := &syncHandler{}
	opts := fixtureOpts("reward")
	opts.Logger = slog.New(h)
	r := openFixture(t, "reward", opts)
	if _, err := r.Score(context.Background(), 0, samples("LOG:checking answers")); err != nil {
		t.Fatal(err)
	}
	r.Close()
	var rec slog.Record
	var ok bool
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if rec, ok = h.find("checking answers"); ok {
			break
		}
	}
	if !ok {
		t.Fatal("the plugin's log line did not reach the host logger")
	}
	attrs := map[string]string{}
	rec.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
	if rec.Level != slog.LevelWarn || attrs["plugin"] != filepath.Base(self(t)) || attrs["answer"] != "42" {
		t.Errorf("record level=%v attrs=%v", rec.Level, attrs)
	}
	if _, ok := h.find("plugin started"); !ok {
		t.Error("no 'plugin started' report")
	}
}

func TestNoOrphanWhenHostKilled(t *testing.T) {
	cmd := exec.Command(self(t))
	// The killed host cannot remove its socket directory: keep it in the test's temp dir.
	cmd.Env = append(os.Environ(), fixtureEnv+"=host", "TMPDIR="+t.TempDir())
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
		t.Fatalf("host fixture said %q", line)
	}
	if !pidAlive(pid) {
		t.Fatalf("plugin pid %d not running while its host is", pid)
	}
	_ = cmd.Process.Kill() // SIGKILL: the host runs no cleanup at all
	_ = cmd.Wait()
	deadline := time.Now().Add(3 * time.Second)
	for pidAlive(pid) {
		if time.Now().After(deadline) {
			_ = killGroup(pid)
			t.Fatalf("plugin pid %d outlived its SIGKILLed host", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTemplatePlugin(t *testing.T) {
	tp, err := OpenTemplate(context.Background(), self(t), nil, fixtureOpts("template"))
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close()
	got, err := tp.Render(context.Background(), map[string]string{"question": "2+2?"}, map[string]any{"id": 7})
	if err != nil || got.Text != "Q: 2+2? (row 7)" || got.Messages != nil {
		t.Errorf("render = %+v, %v", got, err)
	}
	got, err = tp.Render(context.Background(), map[string]string{"mode": "chat", "question": "hi"}, nil)
	if err != nil || len(got.Messages) != 1 || got.Messages[0].Content != "Q: hi" || got.Text != "" {
		t.Errorf("chat render = %+v, %v", got, err)
	}
	_, err = tp.Render(context.Background(), map[string]string{"mode": "both"}, nil)
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "exactly one of prompt and messages") {
		t.Errorf("both: %v", err)
	}
	tp.Close()
	assertNoChildren(t)
}

type fakeWeights struct{ step int64 }

func (w fakeWeights) Step() int64 { return w.step }
func (w fakeWeights) SaveHF(dir string) error {
	return os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type":"qwen2"}`), 0o644)
}

func TestGeneratorPlugin(t *testing.T) {
	g, err := OpenGenerator(context.Background(), self(t), nil, fixtureOpts("generator"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	req := generate.Request{Prompts: []generate.Prompt{{Text: "a"}, {Text: "b"}}, N: 2, Sampling: generate.Sampling{Temperature: 1, MaxTokens: 8}}
	got, err := g.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"step=-1 a #0", "step=-1 a #1", "step=-1 b #0", "step=-1 b #1"}
	for i, c := range got {
		if c.Text != want[i] || c.Prompt != i/2 || c.FinishReason != generate.FinishStop {
			t.Errorf("completion %d = %+v, want text %q", i, c, want[i])
		}
	}
	g.WeightsDir = t.TempDir()
	if err := g.SyncWeights(context.Background(), fakeWeights{step: 12}); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(g.WeightsDir); len(left) != 0 {
		t.Errorf("weights directory not cleaned up: %v", left)
	}
	got, err = g.Generate(context.Background(), generate.Request{Prompts: []generate.Prompt{{Text: "c"}}, N: 1})
	if err != nil || got[0].Text != "step=12 c #0" {
		t.Errorf("after sync: %+v %v", got, err)
	}
	_, err = g.Generate(context.Background(), generate.Request{Prompts: []generate.Prompt{{Text: "a"}, {Text: "BAD_ORDER"}}, N: 1})
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "prompt-major") {
		t.Errorf("bad order: %v", err)
	}
	g.Close()
	assertNoChildren(t)
}

func TestGeneratorWithoutSyncWeights(t *testing.T) {
	g, err := OpenGenerator(context.Background(), self(t), nil, fixtureOpts("generator_nosync"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.SyncWeights(context.Background(), fakeWeights{step: 1}); !errors.Is(err, generate.ErrUnsupported) {
		t.Errorf("SyncWeights on a backend without the capability: %v, want generate.ErrUnsupported", err)
	}
	_, err = g.Generate(context.Background(), generate.Request{Prompts: []generate.Prompt{{Text: "a"}}, N: 1})
	if !errors.Is(err, ErrPlugin) || !strings.Contains(err.Error(), "not used") {
		t.Errorf("plugin error: %v", err)
	}
}

func TestInspect(t *testing.T) {
	for _, mode := range []string{"reward", "template", "generator"} {
		t.Setenv(fixtureEnv, mode) // Inspect passes the host environment on
		info, err := Inspect(context.Background(), self(t))
		if err != nil {
			t.Fatal(err)
		}
		if info.Describe.Kind != mode || info.Protocol != 1 || !info.MTLS || info.PID == 0 {
			t.Errorf("%s: info = %+v", mode, info)
		}
		if mode == "generator" && (len(info.Describe.Capabilities) != 1 || info.Describe.Capabilities[0] != wire.CapSyncWeights) {
			t.Errorf("generator capabilities = %v", info.Describe.Capabilities)
		}
	}
	assertNoChildren(t)
}

func TestBackoffDoublesUpToCap(t *testing.T) {
	o := Options{Backoff: time.Second}.withDefaults(defaultTimeout)
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 6: 30 * time.Second, 40: 30 * time.Second} {
		if got := o.backoff(n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
	if d := (Options{Restarts: -1}).withDefaults(defaultTimeout); d.Restarts != 0 || d.Timeout != defaultTimeout {
		t.Errorf("withDefaults = %+v", d)
	}
}
