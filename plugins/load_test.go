package plugins

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grpo-dev/grpo/core/reward"
)

func TestOpenRewardDispatch(t *testing.T) {
	ctx := context.Background()
	opts := Options{Workers: 1, CacheDir: filepath.Join(t.TempDir(), "cache"), Logger: slog.New(slog.DiscardHandler)}
	rows := []reward.Sample{{Completion: `\boxed{3}`, Metadata: map[string]any{"answer": "3"}}}
	for _, p := range []string{"builtin:math", "../rewards/math.wasm"} {
		r, err := OpenReward(ctx, Spec{Plugin: p}, opts)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		sc, err := r.Score(ctx, 0, rows)
		if err != nil || sc.Values[0] != 1 || r.Name() != "math" {
			t.Errorf("%s: %v %v name=%s", p, sc.Values, err, r.Name())
		}
		r.Close()
	}
	for p, want := range map[string]string{
		"":                     "empty plugin path",
		"builtin:nope":         "no such built-in reward",
		"missing.wasm":         "missing.wasm: open",
		"./no-such-executable": "no-such-executable: start",
	} {
		if _, err := OpenReward(ctx, Spec{Plugin: p}, opts); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", p, err, want)
		}
	}
	if _, err := OpenRewards(ctx, []Spec{{Plugin: "builtin:math"}, {Plugin: "builtin:nope"}}, opts); err == nil {
		t.Error("OpenRewards with a bad spec succeeded")
	}
}
