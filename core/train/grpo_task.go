package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
	gm "github.com/gomlx/gomlx/ml/model"

	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/generate"
	"github.com/grpo-dev/grpo/core/grpo"
	"github.com/grpo-dev/grpo/core/model"
	"github.com/grpo-dev/grpo/core/optim"
	"github.com/grpo-dev/grpo/core/reward"
)

// maxSkippedBatches bounds the generation rounds one step may lose to reward failures with
// reward_failure = "skip_batch" before the trainer concludes the plugin is broken for good.
const maxSkippedBatches = 8

// GRPO is Group Relative Policy Optimization as a Task of the training skeleton: RLT's
// GRPOTrainer (a fork of TRL v0.15) with TRL's later loss types and clipping, generating through
// the generate.Generator interface and scoring through reward.Reward plugins. Step (grpo.go) is
// the loop; the files beside it hold one concept each: rollout (generation rounds), scoring
// (rewards and reward_failure), policy_loss (the objective and its micro-batching), reference
// (the KL reference model, its offloading and sync), grpo_state (checkpointed state),
// completions_log (log_completions, save_completions_probability).
type GRPO struct {
	cfg    *config.Config
	policy *model.Model
	gen    generate.Generator
	log    *slog.Logger

	examples []data.Example
	sampler  *data.RepeatSampler
	ro       *rollout
	scorer   *scorer
	loss     lossSpec
	ref      *reference // nil when beta = 0
	old      *logProber // nil when num_iterations = 1
	logs     *completions
	pad      int32

	b, ga, s, chunk, mu int // per-device batch, micro-batches per step, aggregation, backprop chunk, num_iterations

	synced    int64           // optimizer step whose weights the generator has (-1: unknown)
	refSynced int64           // last step at which the reference was synced
	buffer    *stepBuffer     // the rows being trained on, reused for num_iterations steps
	before    json.RawMessage // data state before the running step
	failed    bool            // the last step failed: State reports before
	// keepInertRows runs rows without gradient too (tests compare both ways).
	keepInertRows bool
}

// GRPOOptions are the GRPO task's settings that do not come from the configuration.
type GRPOOptions struct {
	// Logger receives warnings and, with activate_debugging_logs, per-round tracing (nil:
	// slog.Default()).
	Logger *slog.Logger
	// Completions receives the log_completions tables (nil: os.Stderr).
	Completions io.Writer
}

// Tokenizer is what GRPO needs of the model's tokenizer.
type Tokenizer interface {
	Encode(text string, addSpecial bool) []int32
	EOS() []int32
	PadID() int32
}

// NewGRPO prepares GRPO training of policy on the prompts of examples (see BuildPrompts), with
// completions sampled by gen and scored by rewards (in [[rewards]] order, weighted by
// reward_weights). The reference model, when beta > 0, is a copy of policy as it is now.
func NewGRPO(cfg *config.Config, policy *model.Model, tok Tokenizer, gen generate.Generator, rewards []reward.Reward, examples []data.Example, opts GRPOOptions) (*GRPO, error) {
	if cfg == nil || policy == nil || tok == nil || gen == nil {
		return nil, errors.New("train.NewGRPO: config, policy, tokenizer and generator are required")
	}
	if cfg.NumProcesses > 1 {
		return nil, fmt.Errorf("num_processes = %d: multi-process (multi-GPU) training is not available yet; use num_processes = 1", cfg.NumProcesses)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	t := &GRPO{cfg: cfg, policy: policy, gen: gen, log: log, examples: examples, synced: 0, refSynced: 0,
		b: cfg.PerDeviceTrainBatchSize, ga: cfg.GradientAccumulation(), s: cfg.GenerationAggregation(),
		chunk: cfg.BackpropChunk(), mu: max(cfg.NumIterations, 1)}
	switch {
	case t.b < 1 || t.ga < 1 || t.s < 1:
		return nil, fmt.Errorf("per_device_train_batch_size (%d), gradient accumulation (%d) and generation_aggregation_steps (%d) must be ≥ 1", t.b, t.ga, t.s)
	case t.ga%t.s != 0:
		return nil, fmt.Errorf("generation_aggregation_steps = %d must divide the gradient accumulation steps (%d), as RLT asserts (trainers/grpo.py:309-313)", t.s, t.ga)
	}
	var err error
	t.sampler, err = data.NewRepeatSampler(data.SamplerConfig{NumRows: len(examples), NumGenerations: cfg.NumGenerations,
		PerDeviceBatchSize: t.b, NumProcesses: 1, GenerationAggregationSteps: t.s, ArtificialEpochs: cfg.ArtificialEpochs, Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	if t.scorer, err = newScorer(rewards, cfg.RewardFailure, log); err != nil {
		return nil, err
	}
	if w := cfg.RewardWeightsOrOnes(); len(w) != len(rewards) {
		return nil, fmt.Errorf("reward_weights has %d values for %d reward plugins: give one weight per [[rewards]] entry (and --plugin)", len(w), len(rewards))
	}

	eos := stopIDs(policy, tok)
	if len(eos) == 0 {
		return nil, fmt.Errorf("the model and tokenizer name no end-of-sequence token (eos_token_id): completions could never end")
	}
	t.pad = tok.PadID()
	if t.pad < 0 {
		t.pad = eos[0]
	}
	temp := 1.0
	if cfg.UnbiasLogProbabilities {
		temp = cfg.Temperature
	}
	lp := grpo.LogProbsConfig{Temperature: temp, Entropy: true}
	if t.loss, err = newLossSpec(cfg.LossType, cfg.Beta, cfg.Epsilon, cfg.ClipHigh(), cfg.MaxCompletionLength, t.ga, t.b, t.chunk, t.mu > 1, lp); err != nil {
		return nil, err
	}
	t.ro = &rollout{gen: gen, encode: func(s string) []int32 { return tok.Encode(s, false) },
		sampling: cfg.Sampling(), g: t.sampler.NumGenerations(), shuffle: cfg.ShuffleGenerationInputs,
		seed: cfg.Seed, maxPrompt: cfg.MaxPromptLength, scorer: t.scorer,
		maskCfg: grpo.CompletionsConfig{Width: cfg.MaxCompletionLength, EOS: eos, Pad: t.pad, MaskTruncated: cfg.MaskTruncatedCompletions},
		advCfg:  grpo.AdvantageConfig{NumGenerations: t.sampler.NumGenerations(), Weights: cfg.RewardWeightsOrOnes(), Scale: grpo.ScaleRewards(cfg.ScaleRewards)}}
	lpNoEntropy := lp
	lpNoEntropy.Entropy = false
	if t.mu > 1 {
		if t.old, err = newLogProber(policy, lpNoEntropy); err != nil {
			return nil, err
		}
	}
	if cfg.Beta != 0 {
		refModel, err := policy.Clone()
		if err != nil {
			return nil, fmt.Errorf("reference model: %w", err)
		}
		if t.ref, err = newReference(refModel, policy, lpNoEntropy, cfg.SyncRefModel, cfg.OffloadUntrainedModels); err != nil {
			return nil, err
		}
	} else if cfg.SyncRefModel {
		log.Warn("sync_ref_model has no effect with beta = 0: there is no reference model")
	}
	t.logs = newCompletions(cfg, opts.Completions, t.scorer.names)
	return t, nil
}

// stopIDs are the ids that end a completion: the tokenizer's EOS ids (which include
// generation_config.json's) and the model config's eos_token_id, as the local sampler stops.
func stopIDs(m *model.Model, tok Tokenizer) []int32 {
	eos := tok.EOS()
	add := func(ids []int) {
		for _, id := range ids {
			if !slices.Contains(eos, int32(id)) {
				eos = append(eos, int32(id))
			}
		}
	}
	if m.Generation != nil {
		add(m.Generation.EOSTokenIDs)
	}
	add(m.Config.EOSTokenIDs)
	return eos
}

// Loss is the GRPO objective of one backward chunk (policy_loss.go).
func (t *GRPO) Loss(scope *gm.Scope, inputs []*Node) (*Node, []*Node) {
	return t.loss.lossFn(t.policy)(scope, inputs)
}

// Reduction: every chunk's loss is already normalised for the whole step (lossSpec).
func (t *GRPO) Reduction() optim.Reduction { return optim.Sum }

// StepsPerEpoch is the optimizer steps of one pass of the repeat sampler: each pass gives
// ⌊N·artificial_epochs/K⌋ generation rounds, GA/S rounds make a step, and each step's rows are
// trained on num_iterations times.
func (t *GRPO) StepsPerEpoch() int64 {
	return int64(t.sampler.MicroBatchesPerPass()/t.ga) * int64(t.mu)
}

// nextRound draws the next generation round from the repeat sampler: S identical copies of K
// prompts × G (RLT feeds the copies to the S micro-steps served by one round's buffer,
// grpo.py:768-812); the first copy's rows are generated for.
func (t *GRPO) nextRound() []data.Example {
	first := t.sampler.Next()
	for range t.s - 1 {
		t.sampler.Next()
	}
	out := make([]data.Example, len(first.Indices))
	for i, idx := range first.Indices {
		out[i] = t.examples[idx]
	}
	return out
}

// logProbs fills the rows' old log-probs (num_iterations > 1: the ratio's denominator, computed
// once with the weights that generated them) and reference log-probs (beta > 0).
func (t *GRPO) logProbs(rows []*sampleRow) error {
	if t.old != nil {
		if err := t.old.fill(rows, t.chunk, t.pad, func(r *sampleRow, lp []float32) { r.OldLogProbs = slices.Clone(lp) }); err != nil {
			return fmt.Errorf("old log-probs: %w", err)
		}
	}
	if t.ref != nil {
		if err := t.ref.logProbs(rows, t.chunk, t.pad); err != nil {
			return fmt.Errorf("reference log-probs: %w", err)
		}
	}
	return nil
}

// lossOutputs reads the loss graph's extra outputs: Stats and SeqClip.
func lossOutputs(outs []*tensors.Tensor) (stats, clip []float64, err error) {
	if len(outs) != 2 {
		return nil, nil, fmt.Errorf("loss graph returned %d extra outputs, want 2", len(outs))
	}
	conv := func(t *tensors.Tensor) ([]float64, error) {
		defer t.MustFinalizeAll()
		f, err := tensors.CopyFlatData[float32](t)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(f))
		for i, v := range f {
			out[i] = float64(v)
		}
		return out, nil
	}
	if stats, err = conv(outs[0]); err != nil {
		return nil, nil, err
	}
	clip, err = conv(outs[1])
	return stats, clip, err
}

// Close releases the compiled graphs of the log-prob passes and the reference model's.
func (t *GRPO) Close() {
	t.old.close()
	if t.ref != nil {
		t.ref.close()
	}
}
