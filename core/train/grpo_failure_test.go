package train

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/reward"
)

// TestGRPORewardFailureError: with reward_failure = "error" a failing reward stops training with
// a checkpoint of the last finished step; resuming from it gives the uninterrupted run's metrics
// and weights.
func TestGRPORewardFailureError(t *testing.T) {
	straightDir := t.TempDir()
	cfg := grpoConfig(t, straightDir)
	cfg.SaveSteps = 10
	tr, _, straight := newGRPOTrainer(t, cfg, []reward.Reward{&letterReward{name: "a", letter: 'a'}}, Options{})
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cfg = grpoConfig(t, dir)
	cfg.SaveSteps = 10
	tr, _, _ = newGRPOTrainer(t, cfg, []reward.Reward{&letterReward{name: "a", letter: 'a', failAt: 2}}, Options{})
	err := tr.Run(context.Background())
	var rerr *RewardError
	if !errors.As(err, &rerr) {
		t.Fatalf("Run = %v, want a *RewardError", err)
	}
	if !errors.Is(err, errScripted) || rerr.Step != 2 || rerr.Reward != "a" {
		t.Errorf("error %q: want the scripted failure of reward \"a\" at step 2", err)
	}
	if want := filepath.Join(dir, "checkpoint-1"); rerr.Checkpoint != want {
		t.Fatalf("checkpoint %q, want %q", rerr.Checkpoint, want)
	}
	if !strings.Contains(err.Error(), "resume_from_checkpoint=latest") {
		t.Errorf("error %q does not say how to resume", err)
	}

	cfg.ResumeFromCheckpoint = ptrTo("latest")
	tr, _, resumed := newGRPOTrainer(t, cfg, []reward.Reward{&letterReward{name: "a", letter: 'a'}}, Options{})
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a, b := withoutTiming(readMetrics(t, straightDir)), withoutTiming(readMetrics(t, dir)); !reflect.DeepEqual(a, b) {
		t.Errorf("metrics after the failure and resume differ from the straight run:\n%v\n%v", b, a)
	}
	if !bytes.Equal(weightBytes(t, straight), weightBytes(t, resumed)) {
		t.Error("final weights differ from the straight run")
	}
}

// TestGRPORewardFailureZeroAndSkip: "zero" scores the failed round 0 and trains on; "skip_batch"
// replaces the failed round with the sampler's next one. Both count the failure.
func TestGRPORewardFailureZeroAndSkip(t *testing.T) {
	for _, mode := range []string{RewardFailureZero, RewardFailureSkipBatch} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			cfg := grpoConfig(t, dir)
			cfg.RewardFailure = mode
			cfg.SaveStrategy = "no"
			tr, task, _ := newGRPOTrainer(t, cfg, []reward.Reward{&letterReward{name: "a", letter: 'a', failAt: 2}}, Options{})
			if err := tr.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			rows := readMetrics(t, dir)
			if len(rows) != 3 {
				t.Fatalf("%d metrics rows, want 3", len(rows))
			}
			for i, r := range rows {
				wantFail := 0.0
				if i == 1 {
					wantFail = 1
				}
				if r["reward_failures"] != wantFail {
					t.Errorf("step %d: reward_failures = %v, want %v", i+1, r["reward_failures"], wantFail)
				}
			}
			calls := task.gen.(*scriptedGen).calls
			switch mode {
			case RewardFailureZero:
				if rows[1]["reward"] != 0 || rows[1]["rewards/a/mean"] != 0 {
					t.Errorf("step 2 rewards %v / %v, want 0 (scored zero)", rows[1]["reward"], rows[1]["rewards/a/mean"])
				}
				if calls != 3 {
					t.Errorf("%d Generate calls, want 3", calls)
				}
			case RewardFailureSkipBatch:
				if rows[1]["skipped_batches"] != 1 || rows[1]["reward"] == 0 {
					t.Errorf("step 2: skipped_batches %v, reward %v; want 1 and the replacement round's reward", rows[1]["skipped_batches"], rows[1]["reward"])
				}
				if calls != 4 {
					t.Errorf("%d Generate calls, want 4 (3 steps + 1 replacement round)", calls)
				}
			}
		})
	}
}

// alwaysFails is a reward whose every call fails.
type alwaysFails struct{}

func (alwaysFails) Name() string { return "broken" }
func (alwaysFails) Close() error { return nil }
func (alwaysFails) Score(context.Context, int64, []reward.Sample) (reward.Scores, error) {
	return reward.Scores{}, errScripted
}

// TestGRPOSkipBatchGivesUp: a reward that always fails cannot make skip_batch loop forever.
func TestGRPOSkipBatchGivesUp(t *testing.T) {
	cfg := grpoConfig(t, t.TempDir())
	cfg.RewardFailure = RewardFailureSkipBatch
	tr, _, _ := newGRPOTrainer(t, cfg, []reward.Reward{alwaysFails{}}, Options{})
	err := tr.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "in a row lost to reward failures") {
		t.Fatalf("Run = %v, want the give-up error", err)
	}
}

// TestGRPOResumeWithBufferAndReference: with num_iterations = 2 a checkpoint between the two
// uses of a generation holds the buffered rows, and with beta > 0 and sync_ref_model it holds the
// moved reference model; resuming there gives the straight run's metrics and weights.
func TestGRPOResumeWithBufferAndReference(t *testing.T) {
	base := func(dir string) *config.Config {
		cfg := grpoConfig(t, dir)
		cfg.NumIterations = 2
		cfg.Beta = 0.1
		cfg.SyncRefModel = true
		cfg.RefModelSyncSteps = 1
		cfg.RefModelMixupAlpha = 0.5
		cfg.OffloadUntrainedModels = true
		cfg.MaxSteps = 4
		cfg.LearningRate = 1e-2
		return cfg
	}
	rw := func() []reward.Reward { return []reward.Reward{&letterReward{name: "a", letter: 'a'}} }
	straightDir := t.TempDir()
	tr, _, straight := newGRPOTrainer(t, base(straightDir), rw(), Options{})
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	first := base(dir)
	first.MaxSteps = 3 // stops in the middle of the second generation's two uses
	tr, _, _ = newGRPOTrainer(t, first, rw(), Options{})
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoint-3", refModelDir, "model.safetensors")); err != nil {
		t.Fatalf("checkpoint-3 has no reference model: %v", err)
	}
	second := base(dir)
	second.ResumeFromCheckpoint = ptrTo("latest")
	tr, task, resumed := newGRPOTrainer(t, second, rw(), Options{})
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls := task.gen.(*scriptedGen).calls; calls != 0 {
		t.Errorf("the resumed run generated %d times; step 4 reuses the checkpointed generation", calls)
	}
	a, b := withoutTiming(readMetrics(t, straightDir)), withoutTiming(readMetrics(t, dir))
	if !reflect.DeepEqual(a, b) {
		t.Errorf("metrics differ:\nstraight %v\nresumed  %v", a, b)
	}
	if _, ok := a[3]["kl"]; !ok {
		t.Error("no kl metric with beta > 0")
	}
	if !bytes.Equal(weightBytes(t, straight), weightBytes(t, resumed)) {
		t.Error("final weights differ from the straight run")
	}
}
