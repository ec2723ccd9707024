package model

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/grpo-dev/grpo/core/model/hf"
)

// SaveOptions tune Save.
type SaveOptions struct {
	// DType of the stored weights: "float32", "bfloat16" or "float16". "" keeps the checkpoint's
	// torch_dtype (float32 when it had none), as save_pretrained keeps the model's dtype.
	DType string
	// MaxShardBytes splits the weights into shards with an index above this size (0: 5 GB).
	MaxShardBytes int64
}

// Save writes the model in the Hugging Face layout: config.json (every original key, torch_dtype
// set to the stored dtype), generation_config.json, safetensors weights (sharded above
// MaxShardBytes; tied embeddings stored once, as save_pretrained does) and the tokenizer files of
// the directory the model was loaded from. transformers and vLLM load the result unchanged, and
// LoadDir gives back the same weights (bit for bit when DType is float32).
func (m *Model) Save(dir string, opts SaveOptions) error {
	if m.stacked {
		return fmt.Errorf("saving to %s: this is an inference copy (Model.Inference), not a checkpoint: save the model it was made from", dir)
	}
	dtype := opts.DType
	if dtype == "" {
		dtype = m.Config.TorchDType
	}
	if dtype == "" {
		dtype = "float32"
	}
	st, ok := map[string]string{"float32": hf.F32, "bfloat16": hf.BF16, "float16": hf.F16}[dtype]
	if !ok {
		return fmt.Errorf("saving model: dtype %q is not supported (float32, bfloat16 or float16)", dtype)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("saving model: %w", err)
	}
	var ts []hf.WriteTensor
	for _, s := range m.specs {
		v := m.Variable(s.Name)
		ts = append(ts, hf.WriteTensor{Name: s.Name, DType: st, Shape: s.Shape, Bytes: func() ([]byte, error) {
			t, err := v.Value()
			if err != nil {
				return nil, err
			}
			values, err := tensors.CopyFlatData[float32](t)
			if err != nil {
				return nil, err
			}
			return hf.EncodeFloats(values, st)
		}})
	}
	if err := hf.WriteCheckpoint(dir, ts, opts.MaxShardBytes); err != nil {
		return fmt.Errorf("saving model weights: %w", err)
	}
	cfg, err := m.Config.Marshal(dtype)
	if err != nil {
		return err
	}
	if err := hf.WriteFileAtomic(filepath.Join(dir, hf.ConfigFile), cfg); err != nil {
		return err
	}
	if m.Generation != nil {
		if err := hf.WriteFileAtomic(filepath.Join(dir, hf.GenerationConfigFile), m.Generation.Data); err != nil {
			return err
		}
	}
	if m.Dir != "" && !sameDir(m.Dir, dir) {
		if _, err := hf.CopyTokenizerFiles(m.Dir, dir); err != nil {
			return fmt.Errorf("saving model: %w", err)
		}
	}
	return nil
}

func sameDir(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}
