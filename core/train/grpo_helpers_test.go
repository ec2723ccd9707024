package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/generate"
	"github.com/grpo-dev/grpo/core/model"
	"github.com/grpo-dev/grpo/core/reward"
)

// The GRPO tests run the task on core/model's tiny fixture (vocab 256, eos 2, pad 0) with a
// byte tokenizer, a scripted generator and a scripted reward, so that every number they check
// can be derived by hand and nothing depends on a backend or a plugin host (cmd/grpo's tests run
// the real ones end to end).

// byteTok is byteEncoder with the fixture's EOS and pad ids.
type byteTok struct{ byteEncoder }

func (byteTok) EOS() []int32 { return []int32{2} }
func (byteTok) PadID() int32 { return 0 }

// scriptedGen samples completions from a seeded RNG of (seed, prompt, j): letters 'a'..'e', with
// EOS after a random length (or truncated at MaxTokens). It ignores the weights, so two trainers
// see the same completions whatever their updates; calls counts Generate calls.
type scriptedGen struct {
	mu    sync.Mutex
	calls int
	syncs int
}

func (g *scriptedGen) Generate(_ context.Context, req generate.Request) ([]generate.Completion, error) {
	g.mu.Lock()
	g.calls++
	g.mu.Unlock()
	var out []generate.Completion
	for i, p := range req.Prompts {
		for j := range req.N {
			rng := rand.New(rand.NewPCG(uint64(req.Sampling.Seed), uint64(i*1000+j)^hashText(p.Text)))
			n := 1 + rng.IntN(req.Sampling.MaxTokens)
			var ids []int32
			var text strings.Builder
			reason := generate.FinishLength
			for k := range n {
				if k == n-1 && rng.IntN(3) > 0 && n < req.Sampling.MaxTokens {
					ids = append(ids, 2)
					reason = generate.FinishStop
					break
				}
				c := byte('a' + rng.IntN(5))
				ids = append(ids, int32(c))
				text.WriteByte(c)
			}
			out = append(out, generate.Completion{Prompt: i, PromptIDs: p.IDs, IDs: ids, Text: text.String(), FinishReason: reason})
		}
	}
	return out, nil
}

func hashText(s string) uint64 {
	h := uint64(1469598103934665603)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

func (g *scriptedGen) SyncWeights(context.Context, generate.WeightSource) error {
	g.mu.Lock()
	g.syncs++
	g.mu.Unlock()
	return nil
}

func (g *scriptedGen) Close() error { return nil }

// letterReward scores the fraction of the completion's letters equal to letter ('a' pays), so
// groups have spread; failAt, if > 0, makes its failAt-th call (1-based) fail.
type letterReward struct {
	name   string
	letter byte
	failAt int
	calls  int
}

var errScripted = errors.New("scripted reward failure (wasm trap)")

func (r *letterReward) Name() string { return r.name }
func (r *letterReward) Close() error { return nil }
func (r *letterReward) Score(_ context.Context, _ int64, samples []reward.Sample) (reward.Scores, error) {
	r.calls++
	if r.failAt > 0 && r.calls == r.failAt {
		return reward.Scores{}, errScripted
	}
	v := make([]float64, len(samples))
	for i, s := range samples {
		if len(s.Completion) == 0 {
			continue
		}
		v[i] = float64(strings.Count(s.Completion, string(r.letter))) / float64(len(s.Completion))
	}
	return reward.Scores{Values: v}, nil
}

// grpoConfig is a small GRPO configuration: 2 prompts × G=4 per micro-batch of 8 rows.
func grpoConfig(t testing.TB, out string) *config.Config {
	c := config.Default()
	c.Algorithm = "grpo"
	c.OutputDir = out
	c.ModelNameOrPath = fixtureDir(t)
	c.NumGenerations = 4
	c.PerDeviceTrainBatchSize = 8
	c.GradientAccumulationSteps = 1
	c.MaxCompletionLength = 12
	c.MaxPromptLength = 32
	c.Temperature = 1
	c.Beta = 0
	c.LearningRate = 1e-3
	c.LRSchedulerType = "constant"
	c.MaxSteps = 3
	c.LoggingSteps = 1
	c.SaveStrategy = "steps"
	c.SaveSteps = 1
	c.Seed = 11
	c.Rewards = []config.PluginSpec{{Plugin: "builtin:test"}}
	return c
}

// prompts are n distinct prompts with a metadata column.
func prompts(n int) []data.Example {
	out := make([]data.Example, n)
	for i := range out {
		out[i] = data.Example{Prompt: fmt.Sprintf("Q%d: say a", i), Metadata: map[string]any{"answer": "a"}, Row: i, Where: fmt.Sprintf("test.jsonl:%d", i+1)}
	}
	return out
}

// newGRPOTrainer builds the task and the skeleton on a freshly loaded fixture.
func newGRPOTrainer(t *testing.T, cfg *config.Config, rewards []reward.Reward, opts Options) (*Trainer, *GRPO, *model.Model) {
	t.Helper()
	m := loadTiny(t)
	task, err := NewGRPO(cfg, m, byteTok{}, &scriptedGen{}, rewards, prompts(12), GRPOOptions{Completions: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(task.Close)
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	tr, err := New(cfg, m, task, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tr, task, m
}
