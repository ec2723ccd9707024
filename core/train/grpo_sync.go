package train

import (
	"context"
	"errors"
	"fmt"

	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/generate"
	"github.com/grpo-dev/grpo/core/model"
)

// policyWeights is the trained policy as a generate.WeightSource.
type policyWeights struct {
	policy *model.Model
	step   int64
}

func (w policyWeights) Step() int64 { return w.step }

// SaveHF writes the policy in Hugging Face layout, in its checkpoint's dtype (what a generation
// server loads).
func (w policyWeights) SaveHF(dir string) error { return w.policy.Save(dir, model.SaveOptions{}) }

// sync brings the generator and the reference model up to date before step gs+1 generates:
// Generator.SyncWeights whenever the weights changed since it last synced (RLT
// trainers/grpo.py:899-908; the local sampler shares the policy's memory and does nothing), and,
// with sync_ref_model, θ_ref ← α·θ + (1−α)·θ_ref when gs is a multiple of ref_model_sync_steps
// (TRL SyncRefModelCallback.on_step_end, run here before the next use instead of right after the
// update — nothing reads the reference in between).
func (t *GRPO) sync(ctx context.Context, gs int64) error {
	if t.synced != gs && (t.buffer == nil || t.buffer.Uses >= t.mu) {
		err := t.gen.SyncWeights(ctx, policyWeights{policy: t.policy, step: gs})
		if errors.Is(err, generate.ErrUnsupported) {
			return fmt.Errorf("the generation backend cannot load updated weights (SyncWeights: %w): GRPO samples from the policy being trained, so it needs a backend that can (backend = \"local\", or a server with weight sync)", err)
		}
		if err != nil {
			return fmt.Errorf("step %d: syncing the policy's weights to the generation backend: %w", gs+1, err)
		}
		t.synced = gs
	}
	if t.ref != nil && t.ref.sync != nil && gs > 0 && t.refSynced != gs && gs%int64(max(t.cfg.RefModelSyncSteps, 1)) == 0 {
		dist, err := t.ref.syncWith(t.cfg.RefModelMixupAlpha)
		if err != nil {
			return fmt.Errorf("step %d: %w", gs+1, err)
		}
		t.refSynced = gs
		t.log.Debug("reference model synced", "step", gs, "alpha", t.cfg.RefModelMixupAlpha, "distance", dist)
	}
	return nil
}

// Evaluate measures the policy on held-out examples as `grpo run` reports it: greedy completions
// (max_completion_length tokens) scored by the training rewards, a problem counting as solved
// when its weighted total reaches the sum of the positive reward weights (full marks; accuracy
// for a 0/1 correctness reward). The generator is synced to the policy's current weights first.
func (t *GRPO) Evaluate(ctx context.Context, examples []data.Example) (EvalResult, error) {
	if err := t.gen.SyncWeights(ctx, policyWeights{policy: t.policy, step: -1}); err != nil && !errors.Is(err, generate.ErrUnsupported) {
		return EvalResult{}, fmt.Errorf("evaluation: syncing the policy's weights to the generation backend: %w", err)
	}
	t.synced = -1
	weights := t.cfg.RewardWeightsOrOnes()
	full := 0.0
	for _, w := range weights {
		full += max(w, 0)
	}
	return Evaluate(ctx, t.gen, examples, t.scorer.rewards, weights, EvalConfig{MaxTokens: t.cfg.MaxCompletionLength,
		MaxPromptTokens: t.cfg.MaxPromptLength, Seed: t.cfg.Seed, Threshold: full})
}
