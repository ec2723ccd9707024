package train

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"

	"github.com/grpo-dev/grpo/core/reward"
)

// Reward failure policies (config reward_failure).
const (
	// RewardFailureError stops training: the trainer saves a checkpoint of the last completed
	// step and returns a *RewardError.
	RewardFailureError = "error"
	// RewardFailureSkipBatch drops the optimizer step whose generation round a reward failed on:
	// no update is applied, the step still counts (its data is consumed) and the failure is
	// counted in the metrics (reward_failures, skipped_steps).
	RewardFailureSkipBatch = "skip_batch"
	// RewardFailureZero scores every sample of the failed reward 0 for that round and trains on.
	RewardFailureZero = "zero"
)

// RewardError reports a reward plugin that failed with reward_failure = "error". It is a
// CheckpointedFailure: the skeleton saves a checkpoint of the last finished step before stopping.
type RewardError struct {
	Reward string // the reward's name
	Step   int64  // the optimizer step being trained (1-based)
	// Checkpoint is the checkpoint saved before stopping ("" if none could be written).
	Checkpoint string
	Err        error
}

func (e *RewardError) Error() string {
	msg := fmt.Sprintf("reward %q failed at step %d: %v", e.Reward, e.Step, e.Err)
	if e.Checkpoint != "" {
		msg += fmt.Sprintf("; training stopped with a checkpoint at %s: fix the plugin and resume with resume_from_checkpoint=latest", e.Checkpoint)
	} else {
		msg += "; training stopped"
	}
	return msg + ` (or set reward_failure = "skip_batch" or "zero" to train through failures)`
}

func (e *RewardError) Unwrap() error { return e.Err }

// SetCheckpoint records the checkpoint the skeleton saved before stopping (CheckpointedFailure).
func (e *RewardError) SetCheckpoint(dir string) { e.Checkpoint = dir }

// scorer runs every configured reward on a round's samples (RLT trainers/grpo.py:1068-1104: each
// reward function gets the prompts, the completions and the row's other columns).
type scorer struct {
	rewards []reward.Reward
	names   []string // unique metric names, in [[rewards]] order
	failure string   // reward_failure
	log     *slog.Logger
}

func newScorer(rewards []reward.Reward, failure string, log *slog.Logger) (*scorer, error) {
	if len(rewards) == 0 {
		return nil, errors.New("no reward plugins: configure at least one [[rewards]] entry or pass --plugin")
	}
	switch failure {
	case "":
		failure = RewardFailureError
	case RewardFailureError, RewardFailureSkipBatch, RewardFailureZero:
	default:
		return nil, fmt.Errorf("reward_failure = %q: use %q, %q or %q", failure, RewardFailureError, RewardFailureSkipBatch, RewardFailureZero)
	}
	return &scorer{rewards: rewards, names: rewardNames(rewards), failure: failure, log: log}, nil
}

// rewardNames are the rewards' names made unique in order ("math", "math_2", …), for metrics
// (rewards/<name>/mean) and completion logs.
func rewardNames(rewards []reward.Reward) []string {
	seen := map[string]int{}
	out := make([]string, len(rewards))
	for i, r := range rewards {
		name := r.Name()
		if name == "" {
			name = "reward"
		}
		seen[name]++
		if n := seen[name]; n > 1 {
			name += "_" + strconv.Itoa(n)
		}
		out[i] = name
	}
	return out
}

// score returns the reward columns ([reward][sample], NaN = no score) and the number of reward
// calls that failed. With reward_failure "skip_batch" a failure returns nil columns; with "zero"
// the failed reward's column is all zeros; with "error" a *RewardError is returned.
func (s *scorer) score(ctx context.Context, seed int64, samples []reward.Sample, step int64) ([][]float64, int, error) {
	cols := make([][]float64, len(s.rewards))
	failures := 0
	for k, r := range s.rewards {
		sc, err := r.Score(ctx, seed, samples)
		if err == nil {
			err = checkScores(sc.Values, len(samples))
		}
		if err != nil {
			if ctx.Err() != nil { // interrupted, not a plugin failure
				return nil, failures, ctx.Err()
			}
			failures++
			switch s.failure {
			case RewardFailureError:
				return nil, failures, &RewardError{Reward: s.names[k], Step: step, Err: err}
			case RewardFailureSkipBatch:
				s.log.Warn("reward failed; dropping this generation round for the next one (reward_failure = skip_batch)", "reward", s.names[k], "step", step, "error", err)
				return nil, failures, nil
			case RewardFailureZero:
				s.log.Warn("reward failed; scoring this round 0 (reward_failure = zero)", "reward", s.names[k], "step", step, "error", err)
				cols[k] = make([]float64, len(samples))
				continue
			}
		}
		cols[k] = sc.Values
	}
	return cols, failures, nil
}

// checkScores rejects a result a reward host should never return: the wrong count, or infinite
// values (NaN is allowed: no score).
func checkScores(values []float64, n int) error {
	if len(values) != n {
		return fmt.Errorf("returned %d scores for %d samples", len(values), n)
	}
	for i, v := range values {
		if math.IsInf(v, 0) {
			return fmt.Errorf("scored sample %d %v: rewards must be finite (NaN means no score)", i, v)
		}
	}
	return nil
}
