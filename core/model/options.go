package model

import (
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
)

// Attention implementations accepted in attn_implementation (transformers' names).
const (
	// AttentionEager always uses the decomposed softmax(QKᵀ)V graph.
	AttentionEager = "eager"
	// AttentionSDPA (the default) uses the backend's fused attention (cuDNN flash attention on
	// xla:cuda, bf16/f16) when it can serve the call, else the decomposed graph.
	AttentionSDPA = "sdpa"
	// AttentionFlash2 and AttentionFlash3 are accepted for TRL configs and behave as AttentionSDPA:
	// GoMLX's fused attention is cuDNN's flash attention.
	AttentionFlash2 = "flash_attention_2"
	AttentionFlash3 = "flash_attention_3"
)

var attentionImpls = []string{AttentionEager, AttentionSDPA, AttentionFlash2, AttentionFlash3}

// Options configure how a model is built. The zero value computes in float32 on the shared
// backend with fused attention where available.
type Options struct {
	// DType is the compute dtype: Float32, BFloat16 or Float16. Variables always hold float32
	// master weights; the forward pass casts them. InvalidDType means "auto": the checkpoint's
	// torch_dtype, or float32 when it has none.
	DType dtypes.DType
	// Attention is attn_implementation ("" means AttentionSDPA).
	Attention string
	// UseCache is model_init_kwargs' use_cache; it is accepted for TRL compatibility. The KV cache
	// is used by whoever calls ForwardCached (the sampler), never by training forwards.
	UseCache bool
	// GradientCheckpointing recomputes each decoder layer in the backward pass instead of keeping
	// its activations (TRL's gradient_checkpointing).
	GradientCheckpointing bool
	// Revision of a Hub model (model_init_kwargs' revision); "" means main.
	Revision string
	// Backend runs the graphs; nil means accel.Shared().
	Backend compute.Backend
}

// ParseDType maps a torch dtype name ("float32", "bfloat16", "float16", with or without a
// "torch." prefix; "auto" or "" for the checkpoint's dtype) to a compute dtype.
func ParseDType(name string) (dtypes.DType, error) {
	switch strings.TrimPrefix(strings.ToLower(strings.TrimSpace(name)), "torch.") {
	case "", "auto":
		return dtypes.InvalidDType, nil
	case "float32", "float", "fp32":
		return dtypes.Float32, nil
	case "bfloat16", "bf16":
		return dtypes.BFloat16, nil
	case "float16", "half", "fp16":
		return dtypes.Float16, nil
	}
	return dtypes.InvalidDType, fmt.Errorf("torch_dtype %q is not supported: use float32, bfloat16, float16 or auto", name)
}

// initKwargKeys are the model_init_kwargs keys grpo understands.
var initKwargKeys = []string{"attn_implementation", "device_map", "dtype", "low_cpu_mem_usage", "revision", "torch_dtype", "trust_remote_code", "use_cache"}

// ParseInitKwargs reads TRL's model_init_kwargs (the keyword arguments of
// AutoModelForCausalLM.from_pretrained). torch_dtype (or dtype), attn_implementation, use_cache
// and revision are honoured; device_map, low_cpu_mem_usage and trust_remote_code are accepted and
// ignored (placement is GOMLX_BACKEND's job, loading is always streaming, and Qwen2/Llama need no
// remote code). Any other key is an error naming it.
func ParseInitKwargs(kw map[string]any) (Options, error) {
	var o Options
	keys := make([]string, 0, len(kw))
	for k := range kw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := kw[k]
		switch k {
		case "torch_dtype", "dtype":
			s, ok := v.(string)
			if !ok && v != nil {
				return o, fmt.Errorf("model_init_kwargs.%s must be a string such as \"bfloat16\", got %v", k, v)
			}
			dt, err := ParseDType(s)
			if err != nil {
				return o, fmt.Errorf("model_init_kwargs.%s: %w", k, err)
			}
			o.DType = dt
		case "attn_implementation":
			s, ok := v.(string)
			if !ok && v != nil {
				return o, fmt.Errorf("model_init_kwargs.attn_implementation must be a string, got %v", v)
			}
			if s != "" && !slices.Contains(attentionImpls, s) {
				return o, fmt.Errorf("model_init_kwargs.attn_implementation %q is not supported; use one of %s", s, strings.Join(attentionImpls, ", "))
			}
			o.Attention = s
		case "use_cache":
			b, ok := v.(bool)
			if !ok {
				return o, fmt.Errorf("model_init_kwargs.use_cache must be true or false, got %v", v)
			}
			o.UseCache = b
		case "revision":
			s, ok := v.(string)
			if !ok {
				return o, fmt.Errorf("model_init_kwargs.revision must be a string, got %v", v)
			}
			o.Revision = s
		case "device_map", "low_cpu_mem_usage", "trust_remote_code":
			slog.Debug("model_init_kwargs key accepted and ignored", "key", k, "value", v)
		default:
			return o, fmt.Errorf("model_init_kwargs.%s is not supported; supported keys: %s", k, strings.Join(initKwargKeys, ", "))
		}
	}
	return o, nil
}
