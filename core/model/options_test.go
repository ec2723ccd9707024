package model

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
)

func TestParseInitKwargs(t *testing.T) {
	o, err := ParseInitKwargs(map[string]any{"torch_dtype": "bfloat16", "use_cache": false, "attn_implementation": "flash_attention_2",
		"revision": "v1", "device_map": "auto", "trust_remote_code": false})
	if err != nil {
		t.Fatal(err)
	}
	if o.DType != dtypes.BFloat16 || o.UseCache || o.Attention != AttentionFlash2 || o.Revision != "v1" {
		t.Errorf("parsed %+v", o)
	}
	if o, err := ParseInitKwargs(map[string]any{"dtype": "torch.float16"}); err != nil || o.DType != dtypes.Float16 {
		t.Errorf("dtype key: %+v %v", o, err)
	}
	if o, err := ParseInitKwargs(map[string]any{"torch_dtype": "auto"}); err != nil || o.DType != dtypes.InvalidDType {
		t.Errorf("auto: %+v %v", o, err)
	}
	for kw, want := range map[string]map[string]any{
		"torch_dtype \"int8\" is not supported":    {"torch_dtype": "int8"},
		"attn_implementation \"flex_attention\"":   {"attn_implementation": "flex_attention"},
		"quantization_config is not supported":     {"quantization_config": map[string]any{}},
		"use_cache must be true or false, got yes": {"use_cache": "yes"},
	} {
		if _, err := ParseInitKwargs(want); err == nil || !strings.Contains(err.Error(), kw) {
			t.Errorf("%v: error %v, want %q", want, err, kw)
		}
	}
}

// Policy and reference are two Stores: changing one leaves the other alone, and CopyWeightsFrom
// syncs them in the stable TensorNames order.
func TestCloneIsIndependentAndCopySyncs(t *testing.T) {
	policy := randomModel(t, tinyQwen2, Options{}, 41)
	ref, err := policy.Clone()
	if err != nil {
		t.Fatal(err)
	}
	if ref.Store == policy.Store {
		t.Fatal("clone shares the Store")
	}
	ref.SetTrainable(false)
	name := "model.layers.1.self_attn.v_proj.bias"
	before := tensors.MustCopyFlatData[float32](ref.Variable(name).MustValue())
	changed := slices.Clone(before)
	changed[0] += 1
	policy.Variable(name).MustSetValue(tensors.FromFlatDataAndDimensions(changed, len(changed)))
	if got := tensors.MustCopyFlatData[float32](ref.Variable(name).MustValue()); got[0] != before[0] {
		t.Fatal("changing the policy changed the reference")
	}
	if policy.Variable(name).Trainable != true || ref.Variable(name).Trainable {
		t.Error("SetTrainable(false) on the reference must not freeze the policy")
	}
	b := testBatch(policy.Config.VocabSize, 42)
	lp, _ := policy.ComputeLogits(b)
	lr, _ := ref.ComputeLogits(b)
	if slices.Equal(tensors.MustCopyFlatData[float32](lp), tensors.MustCopyFlatData[float32](lr)) {
		t.Fatal("policy and reference give the same logits after diverging")
	}
	if err := ref.CopyWeightsFrom(policy); err != nil {
		t.Fatal(err)
	}
	lr, _ = ref.ComputeLogits(b)
	if !slices.Equal(tensors.MustCopyFlatData[float32](lp), tensors.MustCopyFlatData[float32](lr)) {
		t.Fatal("logits differ after CopyWeightsFrom")
	}
	vars := policy.Variables()
	for i, n := range policy.TensorNames() {
		if vars[i].Path() != varPath(n) {
			t.Fatalf("Variables()[%d] is %s, want %s", i, vars[i].Path(), varPath(n))
		}
	}
	if n := policy.NumParameters(); n != int64(61*32+2*(32+32*32+32+16*32+16+16*32+16+32*32+32+3*48*32)+32) {
		t.Errorf("NumParameters = %d", n)
	}
}

// Load resolves a Hub id through the Hugging Face cache.
func TestLoadFromHubCache(t *testing.T) {
	m := randomModel(t, tinyQwen2, Options{}, 43)
	hfHome := t.TempDir()
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE", "HF_ENDPOINT", "HF_TOKEN"} {
		t.Setenv(k, "")
	}
	t.Setenv("HF_HOME", hfHome)
	t.Setenv("HF_HUB_OFFLINE", "1")
	commit := strings.Repeat("0f", 20)
	repo := filepath.Join(hfHome, "hub", "models--tiny--qwen2")
	snap := filepath.Join(repo, "snapshots", commit)
	if err := m.Save(snap, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(repo, "refs"), 0o755)
	os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(commit), 0o644)
	loaded, err := Load(context.Background(), "tiny/qwen2", Options{Backend: m.Backend()})
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Dir != snap {
		t.Errorf("loaded from %s, want %s", loaded.Dir, snap)
	}
	sameWeights(t, m, loaded)
}
