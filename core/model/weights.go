package model

import (
	"fmt"
	"strings"

	"github.com/grpo-dev/grpo/core/model/hf"
)

// How a tensor is initialised by New (transformers' _init_weights for Qwen2/Llama).
const (
	initNormal = iota // normal(0, initializer_range): linear and embedding weights
	initZeros         // biases
	initOnes          // RMSNorm scales
)

// tensorSpec is one weight of the decoder: its Hugging Face name and shape.
type tensorSpec struct {
	Name  string
	Shape []int
	init  int
}

// varPath maps a Hugging Face tensor name to its variable path in the Store:
// "model.layers.0.mlp.up_proj.weight" → "/model/layers/0/mlp/up_proj/weight".
func varPath(name string) string { return "/" + strings.ReplaceAll(name, ".", "/") }

// tensorSpecs lists every weight the config implies, in the canonical order (embedding, layers
// 0..L-1, final norm, lm_head) that Variables, Save and checkpoints use.
func tensorSpecs(c *hf.Config) []tensorSpec {
	d, hd := c.HiddenSize, c.HeadDim
	q, kv := c.NumAttentionHeads*hd, c.NumKeyValueHeads*hd
	specs := []tensorSpec{{"model.embed_tokens.weight", []int{c.VocabSize, d}, initNormal}}
	linear := func(prefix string, out, in int, bias bool) {
		specs = append(specs, tensorSpec{prefix + ".weight", []int{out, in}, initNormal})
		if bias {
			specs = append(specs, tensorSpec{prefix + ".bias", []int{out}, initZeros})
		}
	}
	for i := range c.NumHiddenLayers {
		p := fmt.Sprintf("model.layers.%d.", i)
		specs = append(specs, tensorSpec{p + "input_layernorm.weight", []int{d}, initOnes})
		linear(p+"self_attn.q_proj", q, d, c.QKVBias)
		linear(p+"self_attn.k_proj", kv, d, c.QKVBias)
		linear(p+"self_attn.v_proj", kv, d, c.QKVBias)
		linear(p+"self_attn.o_proj", d, q, c.OutBias)
		specs = append(specs, tensorSpec{p + "post_attention_layernorm.weight", []int{d}, initOnes})
		linear(p+"mlp.gate_proj", c.IntermediateSize, d, c.MLPBias)
		linear(p+"mlp.up_proj", c.IntermediateSize, d, c.MLPBias)
		linear(p+"mlp.down_proj", d, c.IntermediateSize, c.MLPBias)
	}
	specs = append(specs, tensorSpec{"model.norm.weight", []int{d}, initOnes})
	if !c.TieWordEmbeddings {
		specs = append(specs, tensorSpec{"lm_head.weight", []int{c.VocabSize, d}, initNormal})
	}
	return specs
}

// ignoredTensor reports checkpoint tensors that transformers itself drops on load.
func ignoredTensor(name string, c *hf.Config) bool {
	return strings.HasSuffix(name, ".rotary_emb.inv_freq") || (c.TieWordEmbeddings && name == "lm_head.weight")
}
