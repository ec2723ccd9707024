package hf

import (
	"encoding/json"
	"strings"
	"testing"
)

const qwen2Config = `{
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
  "vocab_size": 151936, "hidden_size": 896, "intermediate_size": 4864,
  "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
  "max_position_embeddings": 32768, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "rope_scaling": null, "tie_word_embeddings": true, "use_sliding_window": false,
  "sliding_window": 32768, "max_window_layers": 21, "bos_token_id": 151643,
  "eos_token_id": 151645, "torch_dtype": "bfloat16", "hidden_act": "silu"
}`

const llama31Config = `{
  "model_type": "llama", "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336,
  "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "max_position_embeddings": 131072,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "eos_token_id": [128001, 128008, 128009], "bos_token_id": 128000, "torch_dtype": "bfloat16"
}`

func TestParseQwen2Config(t *testing.T) {
	c, err := ParseConfig([]byte(qwen2Config), "q/config.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.HeadDim != 64 || c.NumKeyValueHeads != 2 || c.NumQueryHeadsPerKV() != 7 {
		t.Errorf("head_dim=%d kv=%d group=%d, want 64 2 7", c.HeadDim, c.NumKeyValueHeads, c.NumQueryHeadsPerKV())
	}
	if !c.QKVBias || c.OutBias || c.MLPBias {
		t.Errorf("qwen2 biases: qkv=%v out=%v mlp=%v, want true false false", c.QKVBias, c.OutBias, c.MLPBias)
	}
	if !c.TieWordEmbeddings || c.Rope.Type != "default" || c.Rope.Theta != 1e6 || c.RMSNormEps != 1e-6 {
		t.Errorf("tie=%v rope=%+v eps=%g", c.TieWordEmbeddings, c.Rope, c.RMSNormEps)
	}
	if len(c.EOSTokenIDs) != 1 || c.EOSTokenIDs[0] != 151645 || *c.BOSTokenID != 151643 || c.TorchDType != "bfloat16" {
		t.Errorf("eos=%v bos=%v dtype=%q", c.EOSTokenIDs, c.BOSTokenID, c.TorchDType)
	}
}

func TestParseLlama3RopeScalingOldAndNewKeys(t *testing.T) {
	old, err := ParseConfig([]byte(llama31Config), "")
	if err != nil {
		t.Fatal(err)
	}
	want := RopeParameters{Type: "llama3", Theta: 500000, Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192}
	if old.Rope != want {
		t.Errorf("rope_scaling: got %+v, want %+v", old.Rope, want)
	}
	if len(old.EOSTokenIDs) != 3 || old.QKVBias || old.TieWordEmbeddings {
		t.Errorf("eos=%v qkvBias=%v tie=%v", old.EOSTokenIDs, old.QKVBias, old.TieWordEmbeddings)
	}
	// transformers 5 writes rope_parameters with rope_theta inside and no top-level rope_theta.
	v5 := strings.Replace(llama31Config, `"rope_theta": 500000.0,`, "", 1)
	v5 = strings.Replace(v5, `"rope_scaling": {"factor"`, `"rope_parameters": {"rope_theta": 500000.0, "factor"`, 1)
	c, err := ParseConfig([]byte(v5), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Rope != want {
		t.Errorf("rope_parameters: got %+v, want %+v", c.Rope, want)
	}
}

func TestConfigErrorsNameFileAndKey(t *testing.T) {
	cases := []struct {
		name, edit, want string
	}{
		{"unknown model_type", `"model_type": "qwen2"=>"model_type": "mamba"`, `model_type "mamba" is not supported; grpo supports llama, qwen2`},
		{"missing key", `"hidden_size": 896, =>`, "key hidden_size is missing"},
		{"gqa", `"num_key_value_heads": 2=>"num_key_value_heads": 3`, "multiple of num_key_value_heads (3)"},
		{"sliding window", `"use_sliding_window": false=>"use_sliding_window": true`, "use_sliding_window"},
		{"rope type", `"rope_scaling": null=>"rope_scaling": {"rope_type": "yarn", "factor": 4.0}`, `rope_type "yarn" is not supported`},
		{"activation", `"hidden_act": "silu"=>"hidden_act": "gelu"`, `hidden_act "gelu"`},
		{"quantized", `"hidden_act": "silu"=>"hidden_act": "silu", "quantization_config": {"bits": 4}`, "quantization_config"},
		{"wrong type", `"vocab_size": 151936=>"vocab_size": "big"`, "wrong type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			from, to, _ := strings.Cut(tc.edit, "=>")
			if !strings.Contains(qwen2Config, from) {
				t.Fatalf("test edit %q does not apply", from)
			}
			_, err := ParseConfig([]byte(strings.Replace(qwen2Config, from, to, 1)), "m/config.json")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "m/config.json") {
				t.Fatalf("error %v, want one naming m/config.json and containing %q", err, tc.want)
			}
		})
	}
}

func TestMarshalKeepsKeysAndSetsDType(t *testing.T) {
	c, err := ParseConfig([]byte(qwen2Config), "")
	if err != nil {
		t.Fatal(err)
	}
	data, err := c.Marshal("float32")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got["torch_dtype"] != "float32" || got["max_window_layers"] != 21.0 || got["sliding_window"] != 32768.0 {
		t.Errorf("marshalled config lost keys or dtype: %v", got)
	}
	if !strings.Contains(string(data), `"rms_norm_eps": 1e-06`) {
		t.Errorf("numbers must be kept as written; got %s", data)
	}
	c2, err := ParseConfig(data, "")
	if err != nil || c2.HiddenSize != c.HiddenSize || c2.Rope != c.Rope {
		t.Fatalf("re-parse: %v %+v", err, c2)
	}
}
