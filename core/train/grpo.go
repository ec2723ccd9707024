package train

import (
	"context"
	"fmt"
	"time"

	"github.com/grpo-dev/grpo/core/grpo"
)

// Step runs GRPO optimizer step gs+1, in the order of RLT's GRPOTrainer (shared/research/rlt.md
// §2; trainers/grpo.py): the skeleton then applies the AdamW update to the accumulated
// gradients, logs and checkpoints.
//
//  1. sync     the generator gets the weights of the last update (RLT pushes them at the first
//     generation after each optimizer step, grpo.py:899-908), and every ref_model_sync_steps the
//     reference moves toward the policy (TRL SyncRefModelCallback);
//  2. rollout  every num_iterations steps, GA/S generation rounds: the repeat sampler's K prompts
//     × G completions (grpo.py:90-148), generated through the Generator, scored by every reward,
//     turned into group advantages (grpo.py:870-1136); otherwise the buffered rows again;
//  3. log-probs of the generating policy (num_iterations > 1) and of the reference (beta > 0),
//     without gradient (grpo.py:846-855);
//  4. update   the loss and its gradient, micro-batch by micro-batch (per_device_train_batch_size
//     rows each), in backward chunks of backprop_accumulation_* rows (grpo.py:1203-1257).
func (t *GRPO) Step(ctx context.Context, gs int64, mb *MicroBatches) (_ StepResult, err error) {
	var tm stepTimes
	m := grpo.NewStepMetrics(t.scorer.names, t.ref != nil, true)
	t.before, t.failed = t.dataState(), false
	defer func() { t.failed = err != nil }() // State then reports t.before (see CheckpointedFailure)

	start := time.Now()
	if err := t.sync(ctx, gs); err != nil {
		return StepResult{}, err
	}
	tm.sync = time.Since(start)

	var failures, skipped int
	if t.buffer == nil || t.buffer.Uses >= t.mu {
		rows, f, s, err := t.rollout(ctx, gs, m, &tm)
		failures, skipped = f, s
		if err != nil {
			return StepResult{}, err
		}
		start = time.Now()
		if err := t.logProbs(rows); err != nil {
			return StepResult{}, fmt.Errorf("step %d: %w", gs+1, err)
		}
		tm.logProbs = time.Since(start)
		t.buffer = &stepBuffer{Rows: rows}
	}
	t.buffer.Uses++

	start = time.Now()
	tokens, err := t.backward(mb, t.buffer.Rows, m)
	if err != nil {
		return StepResult{}, fmt.Errorf("step %d: %w", gs+1, err)
	}
	tm.update = time.Since(start)
	m.EndOptimizerStep()

	out := m.Values()
	out["reward_failures"] = float64(failures)
	out["skipped_batches"] = float64(skipped)
	tm.into(out, tokens)
	t.log.Debug("grpo step", "step", gs+1, "reward", out["reward"], "loss", out["loss"],
		"sync", tm.sync, "generation", tm.generation, "scoring", tm.scoring, "logprobs", tm.logProbs, "update", tm.update,
		"generated_tokens", tm.genTokens, "trained_tokens", tokens)
	return StepResult{Metrics: out, Tokens: int64(tokens)}, nil
}

// rollout generates, scores and lays out the rows of one optimizer step: GA/S generation rounds
// of b·S completions (K = b·S/G prompts × G). With reward_failure = "skip_batch" a round a
// reward failed on is replaced by the sampler's next one.
func (t *GRPO) rollout(ctx context.Context, gs int64, m *grpo.StepMetrics, tm *stepTimes) (rows []*sampleRow, failures, skipped int, err error) {
	var logged []*round
	attempt := 0
	for len(rows) < t.ga*t.b {
		if skipped > maxSkippedBatches {
			return nil, failures, skipped, fmt.Errorf("step %d: %d generation rounds in a row lost to reward failures (reward_failure = %q); the reward plugin is failing every time: check its logs", gs+1, skipped, RewardFailureSkipBatch)
		}
		examples := t.nextRound()
		rd, err := t.ro.run(ctx, examples, gs, attempt, tm)
		attempt++
		if err != nil {
			return nil, failures, skipped, err
		}
		failures += rd.failures
		if rd.skipped {
			skipped++
			continue
		}
		if err := m.AddRewards(rd.adv); err != nil {
			return nil, failures, skipped, err
		}
		m.AddCompletions(rd.comp)
		rows = append(rows, rd.rows...)
		logged = append(logged, rd)
	}
	if err := t.logCompletions(gs+1, logged); err != nil {
		return nil, failures, skipped, err
	}
	return rows, failures, skipped, nil
}

// backward runs the loss and its gradient over the step's GA micro-batches of b rows, each in
// chunks of c rows (see lossSpec for the normalisation), and returns the tokens of the step's
// rows.
func (t *GRPO) backward(mb *MicroBatches, rows []*sampleRow, m *grpo.StepMetrics) (int, error) {
	chunks := t.backwardChunks(rows)
	for k, ch := range chunks {
		c := layoutChunk(ch.rows, t.pad)
		_, outs, err := mb.Run(k == len(chunks)-1, t.loss.args(c, ch.rows, ch.items)...)
		if err != nil {
			return 0, err
		}
		stats, clip, err := lossOutputs(outs)
		if err != nil {
			return 0, err
		}
		if err := m.AddLoss(stats, clip); err != nil {
			return 0, err
		}
	}
	tokens := 0
	for _, r := range rows {
		tokens += len(r.Prompt) + len(r.Completion)
	}
	return tokens, nil
}

// backwardChunk is one forward/backward pass: exactly c rows and the loss normaliser items.
type backwardChunk struct {
	rows  []*sampleRow
	items int
}

// backwardChunks cuts each micro-batch into chunks of c rows. Rows whose gradient is exactly zero
// are left out when beta = 0: every loss_type multiplies a row's policy term by its advantage
// (clipped or not), so a row with A = 0 — all of a group whose completions scored alike — adds
// nothing, while the normalisers (chunk size, tokens of the micro-batch or step) still count it.
// The chunks keep c rows, the last one filled with inert rows (A = 0, no loss tokens), so the
// gradient is that of the full computation; only the entropy and clipping diagnostics then
// describe the rows trained on. With little reward signal (most groups all wrong) this skips
// most of the work. A step without any row to learn from still runs one chunk (zero gradient):
// the skeleton applies an update after every step (AdamW's momentum still moves, as in TRL).
func (t *GRPO) backwardChunks(rows []*sampleRow) []backwardChunk {
	stepItems := tokensOf(rows)
	skip := t.ref == nil && !t.keepInertRows
	var out []backwardChunk
	for i := 0; i < t.ga; i++ {
		micro := rows[i*t.b : (i+1)*t.b]
		items := stepItems
		if t.loss.itemsPerMicroBatch {
			items = tokensOf(micro) * t.ga
		}
		work := micro
		if skip {
			work = withGradient(micro)
		}
		if t.chunk < t.b {
			work = byLength(work) // less padding per chunk; no loss_type depends on the grouping
		}
		for j := 0; j < len(work); j += t.chunk {
			out = append(out, backwardChunk{rows: inertPadded(work[j:min(j+t.chunk, len(work))], t.chunk, t.pad), items: items})
		}
	}
	if len(out) == 0 { // nothing to learn from: one chunk of real rows keeps the diagnostics meaningful
		first := rows[:t.b]
		items := stepItems
		if t.loss.itemsPerMicroBatch {
			items = tokensOf(first) * t.ga
		}
		out = append(out, backwardChunk{rows: byLength(first)[:t.chunk], items: items})
	}
	return out
}
