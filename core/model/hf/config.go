package hf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ConfigFile is the name of the model configuration in a Hugging Face model directory.
const ConfigFile = "config.json"

// SupportedModelTypes lists the config.json model_type values grpo can build.
var SupportedModelTypes = []string{"llama", "qwen2"}

// SupportedRopeTypes lists the rope_type values (rope_parameters / rope_scaling) grpo implements.
var SupportedRopeTypes = []string{"default", "linear", "llama3"}

// Config is the part of config.json that defines a Qwen2 or Llama decoder. Defaults follow
// transformers (Qwen2Config / LlamaConfig); keys that change the architecture in ways grpo does not
// implement are rejected with an error naming the key.
type Config struct {
	Path string // the file it was read from, for error messages ("" when built in memory)

	ModelType             string
	Architectures         []string
	VocabSize             int
	HiddenSize            int
	IntermediateSize      int
	NumHiddenLayers       int
	NumAttentionHeads     int
	NumKeyValueHeads      int // GQA: NumAttentionHeads must be a multiple
	HeadDim               int // head_dim, or hidden_size/num_attention_heads
	HiddenAct             string
	MaxPositionEmbeddings int
	RMSNormEps            float64
	Rope                  RopeParameters
	TieWordEmbeddings     bool
	InitializerRange      float64

	// Biases. Qwen2 always has q/k/v biases and no o_proj bias (modeling_qwen2.py); Llama has
	// biases on all four attention projections when attention_bias, on the MLP when mlp_bias.
	QKVBias, OutBias, MLPBias bool

	BOSTokenID  *int
	EOSTokenIDs []int // eos_token_id may be an int or a list
	PadTokenID  *int
	TorchDType  string // torch_dtype (or transformers 5's dtype); "" if absent

	raw map[string]any // every key of the file, for lossless saving
}

// RopeParameters are the rotary-embedding settings: transformers 5's rope_parameters, or the
// older rope_theta + rope_scaling keys (modeling_rope_utils.py, RotaryEmbeddingConfigMixin).
type RopeParameters struct {
	Type  string  // "default", "linear" or "llama3"
	Theta float64 // rope_theta, default 10000
	// Factor scales the inverse frequencies ("linear": inv_freq/factor; "llama3": the low band).
	Factor float64
	// Llama 3.1 frequency smoothing (_compute_llama3_parameters).
	LowFreqFactor, HighFreqFactor float64
	OriginalMaxPositionEmbeddings int
}

// ReadConfig reads and validates dir/config.json.
func ReadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, ConfigFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading model config %s (a Hugging Face model directory needs one): %w", path, err)
	}
	return ParseConfig(data, path)
}

// configKeys mirrors config.json; pointers tell a missing key from a zero value.
type configKeys struct {
	ModelType             string          `json:"model_type"`
	Architectures         []string        `json:"architectures"`
	VocabSize             *int            `json:"vocab_size"`
	HiddenSize            *int            `json:"hidden_size"`
	IntermediateSize      *int            `json:"intermediate_size"`
	NumHiddenLayers       *int            `json:"num_hidden_layers"`
	NumAttentionHeads     *int            `json:"num_attention_heads"`
	NumKeyValueHeads      *int            `json:"num_key_value_heads"`
	HeadDim               *int            `json:"head_dim"`
	HiddenAct             *string         `json:"hidden_act"`
	MaxPositionEmbeddings *int            `json:"max_position_embeddings"`
	RMSNormEps            *float64        `json:"rms_norm_eps"`
	RopeTheta             *float64        `json:"rope_theta"`
	RopeScaling           map[string]any  `json:"rope_scaling"`
	RopeParameters        map[string]any  `json:"rope_parameters"`
	TieWordEmbeddings     *bool           `json:"tie_word_embeddings"`
	AttentionBias         *bool           `json:"attention_bias"`
	MLPBias               *bool           `json:"mlp_bias"`
	UseSlidingWindow      *bool           `json:"use_sliding_window"`
	LayerTypes            []string        `json:"layer_types"`
	InitializerRange      *float64        `json:"initializer_range"`
	BOSTokenID            *int            `json:"bos_token_id"`
	EOSTokenID            json.RawMessage `json:"eos_token_id"`
	PadTokenID            *int            `json:"pad_token_id"`
	TorchDType            string          `json:"torch_dtype"`
	DType                 string          `json:"dtype"`
	QuantizationConfig    json.RawMessage `json:"quantization_config"`
}

// ParseConfig parses config.json content; path names the file in errors.
func ParseConfig(data []byte, path string) (*Config, error) {
	if path == "" {
		path = ConfigFile
	}
	var k configKeys
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON or a key of the wrong type: %w", path, err)
	}
	raw := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keep numbers exactly as written (1e-06, 151936) when saving
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", path, err)
	}
	c := &Config{Path: path, ModelType: k.ModelType, Architectures: k.Architectures, raw: raw}
	if !slices.Contains(SupportedModelTypes, c.ModelType) {
		if c.ModelType == "" {
			return nil, fmt.Errorf("%s: key model_type is missing; grpo supports %s", path, strings.Join(SupportedModelTypes, ", "))
		}
		return nil, fmt.Errorf("%s: model_type %q is not supported; grpo supports %s", path, c.ModelType, strings.Join(SupportedModelTypes, ", "))
	}
	if len(k.QuantizationConfig) > 0 && string(k.QuantizationConfig) != "null" {
		return nil, fmt.Errorf("%s: quantization_config is set: quantized checkpoints are not supported, use a float32/bfloat16/float16 checkpoint", path)
	}
	required := []struct {
		key string
		v   *int
		dst *int
	}{
		{"vocab_size", k.VocabSize, &c.VocabSize},
		{"hidden_size", k.HiddenSize, &c.HiddenSize},
		{"intermediate_size", k.IntermediateSize, &c.IntermediateSize},
		{"num_hidden_layers", k.NumHiddenLayers, &c.NumHiddenLayers},
		{"num_attention_heads", k.NumAttentionHeads, &c.NumAttentionHeads},
	}
	for _, r := range required {
		if r.v == nil {
			return nil, fmt.Errorf("%s: key %s is missing", path, r.key)
		}
		if *r.v <= 0 {
			return nil, fmt.Errorf("%s: key %s must be positive, got %d", path, r.key, *r.v)
		}
		*r.dst = *r.v
	}
	c.NumKeyValueHeads = orDefault(k.NumKeyValueHeads, c.NumAttentionHeads)
	if c.NumKeyValueHeads <= 0 || c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return nil, fmt.Errorf("%s: num_attention_heads (%d) must be a positive multiple of num_key_value_heads (%d)",
			path, c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	c.HeadDim = orDefault(k.HeadDim, c.HiddenSize/c.NumAttentionHeads)
	if c.HeadDim <= 0 || c.HeadDim%2 != 0 {
		return nil, fmt.Errorf("%s: head_dim must be positive and even (rotary embeddings rotate pairs), got %d", path, c.HeadDim)
	}
	if k.HeadDim == nil && c.HiddenSize%c.NumAttentionHeads != 0 {
		return nil, fmt.Errorf("%s: hidden_size (%d) is not a multiple of num_attention_heads (%d) and head_dim is not set",
			path, c.HiddenSize, c.NumAttentionHeads)
	}
	c.HiddenAct = orDefault(k.HiddenAct, "silu")
	if c.HiddenAct != "silu" && c.HiddenAct != "swish" {
		return nil, fmt.Errorf("%s: hidden_act %q is not supported (Qwen2/Llama use silu)", path, c.HiddenAct)
	}
	defaultMaxPos := 2048 // LlamaConfig
	if c.ModelType == "qwen2" {
		defaultMaxPos = 32768
	}
	c.MaxPositionEmbeddings = orDefault(k.MaxPositionEmbeddings, defaultMaxPos)
	c.RMSNormEps = orDefault(k.RMSNormEps, 1e-6)
	if c.RMSNormEps <= 0 {
		return nil, fmt.Errorf("%s: rms_norm_eps must be positive, got %g", path, c.RMSNormEps)
	}
	c.TieWordEmbeddings = orDefault(k.TieWordEmbeddings, false)
	c.InitializerRange = orDefault(k.InitializerRange, 0.02)
	switch c.ModelType {
	case "qwen2":
		c.QKVBias, c.OutBias = true, false
		if orDefault(k.UseSlidingWindow, false) {
			return nil, fmt.Errorf("%s: use_sliding_window is true: Qwen2 sliding-window attention is not supported", path)
		}
	case "llama":
		c.QKVBias = orDefault(k.AttentionBias, false)
		c.OutBias = c.QKVBias
		c.MLPBias = orDefault(k.MLPBias, false)
	}
	for i, lt := range k.LayerTypes {
		if lt != "full_attention" {
			return nil, fmt.Errorf("%s: layer_types[%d] is %q: only full_attention layers are supported", path, i, lt)
		}
	}
	var err error
	if c.Rope, err = parseRope(k, c.MaxPositionEmbeddings); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.BOSTokenID, c.PadTokenID = k.BOSTokenID, k.PadTokenID
	if c.EOSTokenIDs, err = parseIDList(k.EOSTokenID); err != nil {
		return nil, fmt.Errorf("%s: eos_token_id: %w", path, err)
	}
	c.TorchDType = k.TorchDType
	if c.TorchDType == "" {
		c.TorchDType = k.DType
	}
	return c, nil
}

// parseRope reads rope_parameters (transformers 5) or rope_theta + rope_scaling (earlier files),
// with the precedence of RotaryEmbeddingConfigMixin.convert_rope_params_to_dict: values inside the
// dict win over the top-level rope_theta.
func parseRope(k configKeys, maxPos int) (RopeParameters, error) {
	p := k.RopeParameters
	key := "rope_parameters"
	if p == nil {
		p, key = k.RopeScaling, "rope_scaling"
	}
	r := RopeParameters{Type: "default", Theta: orDefault(k.RopeTheta, 10000)}
	if p == nil {
		return r, nil
	}
	str := func(name string) (string, bool) { s, ok := p[name].(string); return s, ok }
	num := func(name string) (float64, bool) { f, ok := p[name].(float64); return f, ok }
	if t, ok := str("rope_type"); ok {
		r.Type = t
	} else if t, ok := str("type"); ok {
		r.Type = t
	}
	if !slices.Contains(SupportedRopeTypes, r.Type) {
		return r, fmt.Errorf("%s.rope_type %q is not supported; supported: %s", key, r.Type, strings.Join(SupportedRopeTypes, ", "))
	}
	if th, ok := num("rope_theta"); ok {
		r.Theta = th
	}
	if r.Theta <= 0 {
		return r, fmt.Errorf("rope_theta must be positive, got %g", r.Theta)
	}
	need := func(name string) (float64, error) {
		f, ok := num(name)
		if !ok {
			return 0, fmt.Errorf("%s.%s is required for rope_type %q", key, name, r.Type)
		}
		return f, nil
	}
	var err error
	switch r.Type {
	case "linear":
		if r.Factor, err = need("factor"); err != nil {
			return r, err
		}
	case "llama3":
		if r.Factor, err = need("factor"); err != nil {
			return r, err
		}
		if r.LowFreqFactor, err = need("low_freq_factor"); err != nil {
			return r, err
		}
		if r.HighFreqFactor, err = need("high_freq_factor"); err != nil {
			return r, err
		}
		if r.HighFreqFactor <= r.LowFreqFactor {
			return r, fmt.Errorf("%s: high_freq_factor (%g) must exceed low_freq_factor (%g)", key, r.HighFreqFactor, r.LowFreqFactor)
		}
		r.OriginalMaxPositionEmbeddings = maxPos // standardize_rope_params' default
		if o, ok := num("original_max_position_embeddings"); ok {
			r.OriginalMaxPositionEmbeddings = int(o)
		}
	}
	if r.Type != "default" && r.Factor <= 0 {
		return r, fmt.Errorf("%s.factor must be positive, got %g", key, r.Factor)
	}
	return r, nil
}

// parseIDList reads a token id written as an int, a list of ints, or null.
func parseIDList(raw json.RawMessage) ([]int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int{one}, nil
	}
	var many []int
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("want an int or a list of ints, got %s", raw)
	}
	return many, nil
}

func orDefault[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// Marshal returns config.json content with every original key kept and the stored dtype set to
// dtype ("float32", "bfloat16", "float16"), so transformers and vLLM load the saved weights in it.
func (c *Config) Marshal(dtype string) ([]byte, error) {
	out := make(map[string]any, len(c.raw)+1)
	for k, v := range c.raw {
		out[k] = v
	}
	_, hasTorch := out["torch_dtype"]
	_, hasDType := out["dtype"]
	if hasDType {
		out["dtype"] = dtype
	}
	if hasTorch || !hasDType {
		out["torch_dtype"] = dtype
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding config.json: %w", err)
	}
	return append(data, '\n'), nil
}

// Raw returns the value of a config.json key as decoded (numbers as json.Number), and whether it
// is present. It gives access to keys this package does not interpret.
func (c *Config) Raw(key string) (any, bool) {
	v, ok := c.raw[key]
	return v, ok
}

// NumQueryHeadsPerKV is the GQA group size.
func (c *Config) NumQueryHeadsPerKV() int { return c.NumAttentionHeads / c.NumKeyValueHeads }
