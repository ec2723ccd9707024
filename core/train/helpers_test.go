package train

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/grpo-dev/grpo/core/accel"
	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/model"
)

// fixtureDir is core/model's transformers-made tiny Qwen2 (vocab 256, eos 2, pad 0).
func fixtureDir(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "model", "testdata", "tiny-qwen2")
}

func loadTiny(t testing.TB) *model.Model {
	t.Helper()
	m, err := model.LoadDir(fixtureDir(t), model.Options{Backend: accel.MustShared()})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// byteEncoder encodes text one byte per token (ids 0–255, the tiny model's vocabulary); the
// pairs in merge become one token each, to imitate a BPE merge across a boundary.
type byteEncoder struct{ merge map[string]int32 }

func (e byteEncoder) Encode(text string, _ bool) []int32 {
	var out []int32
	for i := 0; i < len(text); i++ {
		if i+1 < len(text) {
			if id, ok := e.merge[text[i:i+2]]; ok {
				out = append(out, id)
				i++
				continue
			}
		}
		out = append(out, int32(text[i]))
	}
	return out
}

// sftConfig is a small SFT configuration on the fixture.
func sftConfig(t testing.TB, out string) *config.Config {
	c := config.Default()
	c.Algorithm = "sft"
	c.OutputDir = out
	c.ModelNameOrPath = fixtureDir(t)
	c.PerDeviceTrainBatchSize = 2
	c.GradientAccumulationSteps = 2
	c.MaxSeqLength = 24
	c.CompletionOnlyTraining = true
	c.LearningRate = 1e-2
	c.LRSchedulerType = "linear"
	c.WeightDecay = 0.01
	c.MaxSteps = 4
	c.LoggingSteps = 1
	c.SaveStrategy = "steps"
	c.SaveSteps = 2
	c.Seed = 7
	return c
}

// examples are plain-text prompt/completion pairs of different lengths.
func examples(n int) []data.SFTExample {
	var out []data.SFTExample
	for i := range n {
		p := "Q" + strings.Repeat("ab", i%4) + ":"
		c := strings.Repeat("xyz", 1+i%3) + "."
		out = append(out, data.SFTExample{Prompt: p, Completion: c, AddEOS: true, Row: i})
	}
	return out
}
