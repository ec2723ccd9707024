package model

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/dtypes/float16"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/grpo-dev/grpo/core/model/hf"
)

func sameWeights(t *testing.T, a, b *Model) {
	t.Helper()
	if !slices.Equal(a.TensorNames(), b.TensorNames()) {
		t.Fatalf("tensor names differ: %v vs %v", a.TensorNames(), b.TensorNames())
	}
	for _, name := range a.TensorNames() {
		x := tensors.MustCopyFlatData[float32](a.Variable(name).MustValue())
		y := tensors.MustCopyFlatData[float32](b.Variable(name).MustValue())
		if !slices.Equal(x, y) {
			t.Fatalf("tensor %s differs after save and load", name)
		}
	}
}

func loadOpts(m *Model) Options { return Options{Backend: m.Backend()} }

func TestSaveLoadIsLossless(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		shard        int64
	}{{"qwen2 tied single file", tinyQwen2, 0}, {"llama untied sharded", tinyLlama, 20_000}} {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.config, Options{}, 21)
			src := t.TempDir()
			// Give the source directory tokenizer files and a generation config to carry along.
			os.WriteFile(filepath.Join(src, "tokenizer.json"), []byte(`{"model":{"type":"BPE"}}`), 0o644)
			os.WriteFile(filepath.Join(src, "chat_template.jinja"), []byte(`{{ messages }}`), 0o644)
			os.WriteFile(filepath.Join(src, hf.GenerationConfigFile), []byte(`{"eos_token_id": [3, 4], "temperature": 0.7}`), 0o644)
			if err := m.Save(src, SaveOptions{MaxShardBytes: tc.shard}); err != nil {
				t.Fatal(err)
			}
			first, err := LoadDir(src, loadOpts(m))
			if err != nil {
				t.Fatal(err)
			}
			sameWeights(t, m, first)
			if first.Generation == nil || !slices.Equal(first.Generation.EOSTokenIDs, []int{3, 4}) {
				t.Fatalf("generation config not read: %+v", first.Generation)
			}
			dst := filepath.Join(t.TempDir(), "saved")
			if err := first.Save(dst, SaveOptions{MaxShardBytes: tc.shard}); err != nil {
				t.Fatal(err)
			}
			second, err := LoadDir(dst, loadOpts(m))
			if err != nil {
				t.Fatal(err)
			}
			sameWeights(t, m, second)
			for _, f := range []string{"tokenizer.json", "chat_template.jinja", hf.GenerationConfigFile} {
				a, _ := os.ReadFile(filepath.Join(src, f))
				b, err := os.ReadFile(filepath.Join(dst, f))
				if err != nil || string(a) != string(b) {
					t.Errorf("%s not carried to the saved model: %v", f, err)
				}
			}
			_, sharded := os.Stat(filepath.Join(dst, hf.WeightsIndexFile))
			if (tc.shard > 0) != (sharded == nil) {
				t.Errorf("sharded=%v, want %v", sharded == nil, tc.shard > 0)
			}
			ck, err := hf.OpenCheckpoint(dst)
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			_, _, hasHead := ck.Info("lm_head.weight")
			if hasHead == m.Config.TieWordEmbeddings {
				t.Errorf("lm_head.weight stored=%v with tie_word_embeddings=%v", hasHead, m.Config.TieWordEmbeddings)
			}
		})
	}
}

// Saving in bfloat16 or float16 rounds to nearest even and writes torch_dtype; weights that are
// already representable (a half checkpoint loaded and saved again) survive exactly.
func TestSaveHalfPrecision(t *testing.T) {
	for _, tc := range []struct {
		dtype, compute string
		round          func(float32) float32
	}{
		{"bfloat16", "BFloat16", func(x float32) float32 { return bfloat16.FromFloat32(x).Float32() }},
		{"float16", "Float16", func(x float32) float32 { return float16.FromFloat32(x).Float32() }},
	} {
		t.Run(tc.dtype, func(t *testing.T) {
			m := randomModel(t, tinyQwen2, Options{}, 22)
			dir := t.TempDir()
			if err := m.Save(dir, SaveOptions{DType: tc.dtype}); err != nil {
				t.Fatal(err)
			}
			cfg, err := hf.ReadConfig(dir)
			if err != nil || cfg.TorchDType != tc.dtype {
				t.Fatalf("saved torch_dtype %q, %v", cfg.TorchDType, err)
			}
			loaded, err := LoadDir(dir, loadOpts(m))
			if err != nil {
				t.Fatal(err)
			}
			if loaded.DType().String() != tc.compute {
				t.Errorf("auto compute dtype of a %s checkpoint: %s", tc.dtype, loaded.DType())
			}
			for _, name := range m.TensorNames() {
				orig := tensors.MustCopyFlatData[float32](m.Variable(name).MustValue())
				got := tensors.MustCopyFlatData[float32](loaded.Variable(name).MustValue())
				for i := range orig {
					if want := tc.round(orig[i]); got[i] != want {
						t.Fatalf("%s[%d] = %v, want the rounding %v of %v", name, i, got[i], want, orig[i])
					}
				}
			}
			again := t.TempDir()
			if err := loaded.Save(again, SaveOptions{}); err != nil {
				t.Fatal(err)
			}
			reloaded, err := LoadDir(again, loadOpts(m))
			if err != nil {
				t.Fatal(err)
			}
			sameWeights(t, loaded, reloaded)
		})
	}
}

// Every kind of damaged checkpoint gives an error naming the file and the tensor.
func TestBadCheckpointsGiveNamedErrors(t *testing.T) {
	m := randomModel(t, tinyQwen2, Options{}, 23)
	good := t.TempDir()
	if err := m.Save(good, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(good, hf.SingleWeightsFile)
	data, _ := os.ReadFile(weights)
	cfgData, _ := os.ReadFile(filepath.Join(good, hf.ConfigFile))
	variant := func(t *testing.T, edit func(dir string)) string {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, hf.ConfigFile), cfgData, 0o644)
		os.WriteFile(filepath.Join(dir, hf.SingleWeightsFile), data, 0o644)
		edit(dir)
		return dir
	}
	rewriteWeights := func(dir string, edit func(ts []hf.WriteTensor) []hf.WriteTensor) {
		st, err := hf.OpenSafetensors(weights)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var ts []hf.WriteTensor
		for _, n := range st.Names {
			info := st.Tensors[n]
			raw, _ := st.ReadRaw(n)
			ts = append(ts, hf.WriteTensor{Name: n, DType: info.DType, Shape: info.Shape, Bytes: func() ([]byte, error) { return raw, nil }})
		}
		if err := hf.WriteSafetensors(filepath.Join(dir, hf.SingleWeightsFile), edit(ts), nil); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		edit func(dir string)
		want []string
	}{
		{"missing tensor", func(dir string) {
			rewriteWeights(dir, func(ts []hf.WriteTensor) []hf.WriteTensor {
				return slices.DeleteFunc(ts, func(w hf.WriteTensor) bool { return w.Name == "model.layers.1.mlp.up_proj.weight" })
			})
		}, []string{`no tensor "model.layers.1.mlp.up_proj.weight"`, "config.json"}},
		{"shape mismatch", func(dir string) {
			rewriteWeights(dir, func(ts []hf.WriteTensor) []hf.WriteTensor {
				for i, w := range ts {
					if w.Name == "model.layers.0.self_attn.k_proj.weight" {
						ts[i].Shape = []int{w.Shape[1], w.Shape[0]}
					}
				}
				return ts
			})
		}, []string{hf.SingleWeightsFile, `tensor "model.layers.0.self_attn.k_proj.weight" has shape [32 16]`, "needs [16 32]"}},
		{"dtype mismatch", func(dir string) {
			os.WriteFile(filepath.Join(dir, hf.ConfigFile), []byte(strings.Replace(string(cfgData), `"torch_dtype": "float32"`, `"torch_dtype": "bfloat16"`, 1)), 0o644)
		}, []string{hf.SingleWeightsFile, "is stored as F32", "torch_dtype=bfloat16"}},
		{"integer weights", func(dir string) {
			rewriteWeights(dir, func(ts []hf.WriteTensor) []hf.WriteTensor {
				for i, w := range ts {
					if w.Name == "model.norm.weight" {
						ts[i].DType = "I32"
					}
				}
				return ts
			})
			os.WriteFile(filepath.Join(dir, hf.ConfigFile), []byte(strings.Replace(string(cfgData), `"torch_dtype": "float32",`, ``, 1)), 0o644)
		}, []string{hf.SingleWeightsFile, `tensor "model.norm.weight" has dtype I32`}},
		{"truncated", func(dir string) {
			os.WriteFile(filepath.Join(dir, hf.SingleWeightsFile), data[:len(data)-100], 0o644)
		}, []string{hf.SingleWeightsFile, "truncated", `"model.norm.weight"`}},
		{"no weights", func(dir string) { os.Remove(filepath.Join(dir, hf.SingleWeightsFile)) }, []string{"no weights in", hf.SingleWeightsFile}},
		{"no config", func(dir string) { os.Remove(filepath.Join(dir, hf.ConfigFile)) }, []string{hf.ConfigFile}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := variant(t, tc.edit)
			_, err := LoadDir(dir, loadOpts(m))
			if err == nil {
				t.Fatal("loading succeeded")
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
