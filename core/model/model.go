// Package model builds Qwen2 and Llama decoders in GoMLX from Hugging Face checkpoints: the
// policy, reference and student models of grpo.
//
// A Model holds a config and a GoMLX Store of float32 master weights (one variable per checkpoint
// tensor, named after it: model.layers.0.mlp.up_proj.weight → /model/layers/0/mlp/up_proj/weight).
// Two Models are two independent Stores, so policy and reference can coexist. Graph-building
// methods (Forward, ForwardCached, OutputWeights, Logits) must run inside a GoMLX model.Exec built
// on the Model's Store; host helpers (ComputeLogits, ComputeLogitsCached) wrap such Execs.
//
// The math follows transformers' modeling_qwen2.py / modeling_llama.py: RMSNorm in float32,
// rotary embeddings with Llama-3 frequency scaling, grouped-query attention, SwiGLU MLP, tied or
// separate output projection. The package owns the decoder only; the tokenizer lives in
// core/tokenizer, log-probs and losses in core/grpo, sampling in backends/local.
//
// GoMLX building blocks are used where they match transformers exactly: attention.Core
// (grouped-query attention, cuDNN flash attention on xla:cuda) and pos.RoPEWithCosSin. GoMLX's
// ml/zoo/transformer is not used: it takes one position per batch (position ids of row 0 only,
// so left-padded rows get wrong rotary positions), keeps weights in the compute dtype (no float32
// masters), has biases on all projections or none (Qwen2 has q/k/v biases without an o_proj
// bias), and its RMSNorm runs in the input dtype. Its kvcache package writes with
// DynamicUpdateSlice only (no Go backend) and masks by one shared position without padding, so
// the cache here is explicit graph inputs/outputs written per backend (see ForwardCached).
package model

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	gm "github.com/gomlx/gomlx/ml/model"

	"github.com/grpo-dev/grpo/core/accel"
	"github.com/grpo-dev/grpo/core/model/hf"
)

// Model is a decoder-only language model with its weights.
type Model struct {
	Config     *hf.Config
	Generation *hf.GenerationConfig // nil when the directory has no generation_config.json
	// Dir is the directory the model was loaded from ("" for New); its tokenizer files are
	// copied by Save.
	Dir   string
	Store *gm.Store

	opts    Options
	backend compute.Backend
	specs   []tensorSpec
	invFreq []float32
	execs   *execCache
	// stacked marks an inference copy (see Inference): q/k/v and gate/up stacked.
	stacked bool
}

// Load resolves model_name_or_path (a directory, or a Hub id found in the Hugging Face cache or
// downloaded into it, see hf.Resolve) and loads it.
func Load(ctx context.Context, nameOrPath string, opts Options) (*Model, error) {
	dir, err := hf.Resolve(ctx, nameOrPath, hf.ResolveOptions{Revision: opts.Revision})
	if err != nil {
		return nil, err
	}
	return LoadDir(dir, opts)
}

// LoadDir loads the model in a Hugging Face directory: config.json, generation_config.json
// (optional) and safetensors weights, checked tensor by tensor against the config.
func LoadDir(dir string, opts Options) (*Model, error) {
	cfg, err := hf.ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	gen, err := hf.ReadGenerationConfig(dir)
	if err != nil {
		return nil, err
	}
	m, err := newModel(cfg, opts)
	if err != nil {
		return nil, err
	}
	m.Generation, m.Dir = gen, dir
	ck, err := hf.OpenCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	wantDType := map[string]string{"float32": hf.F32, "bfloat16": hf.BF16, "float16": hf.F16}[cfg.TorchDType]
	for _, s := range m.specs {
		info, file, ok := ck.Info(s.Name)
		if !ok {
			return nil, fmt.Errorf("weights in %s have no tensor %q, which %s (model_type %s, %d layers) requires: the checkpoint does not match its config",
				dir, s.Name, cfg.Path, cfg.ModelType, cfg.NumHiddenLayers)
		}
		if !slices.Equal(info.Shape, s.Shape) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v but %s needs %v (hidden_size=%d, heads=%d, kv_heads=%d, head_dim=%d, intermediate_size=%d, vocab_size=%d)",
				file, s.Name, info.Shape, cfg.Path, s.Shape, cfg.HiddenSize, cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim, cfg.IntermediateSize, cfg.VocabSize)
		}
		if wantDType != "" && info.DType != wantDType {
			return nil, fmt.Errorf("%s: tensor %q is stored as %s but %s says torch_dtype=%s: fix torch_dtype in the config or re-save the model",
				file, s.Name, info.DType, cfg.Path, cfg.TorchDType)
		}
		values, err := ck.ReadFloat32(s.Name)
		if err != nil {
			return nil, err
		}
		if _, err := m.Store.CreateVariable(varPath(s.Name), tensors.FromFlatDataAndDimensions(values, s.Shape...)); err != nil {
			return nil, fmt.Errorf("creating variable for %s: %w", s.Name, err)
		}
	}
	var unused []string
	for _, n := range ck.Names {
		if !slices.ContainsFunc(m.specs, func(s tensorSpec) bool { return s.Name == n }) && !ignoredTensor(n, cfg) {
			unused = append(unused, n)
		}
	}
	if len(unused) > 0 {
		slog.Warn("checkpoint tensors not used by the model", "dir", dir, "count", len(unused), "first", unused[:min(5, len(unused))])
	}
	return m, nil
}

// New creates a model with freshly initialised weights, as transformers' _init_weights does for
// Qwen2/Llama: linear and embedding weights ~ normal(0, initializer_range), biases 0, RMSNorm
// scales 1. seed makes it reproducible.
func New(cfg *hf.Config, opts Options, seed uint64) (*Model, error) {
	m, err := newModel(cfg, opts)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for _, s := range m.specs {
		n := 1
		for _, d := range s.Shape {
			n *= d
		}
		values := make([]float32, n)
		for i := range values {
			switch s.init {
			case initNormal:
				values[i] = float32(rng.NormFloat64() * cfg.InitializerRange)
			case initOnes:
				values[i] = 1
			}
		}
		if _, err := m.Store.CreateVariable(varPath(s.Name), tensors.FromFlatDataAndDimensions(values, s.Shape...)); err != nil {
			return nil, fmt.Errorf("creating variable for %s: %w", s.Name, err)
		}
	}
	return m, nil
}

func newModel(cfg *hf.Config, opts Options) (*Model, error) {
	if opts.DType == dtypes.InvalidDType {
		dt, err := ParseDType(cfg.TorchDType)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.Path, err)
		}
		if dt == dtypes.InvalidDType {
			dt = dtypes.Float32
		}
		opts.DType = dt
	}
	switch opts.DType {
	case dtypes.Float32, dtypes.BFloat16, dtypes.Float16:
	default:
		return nil, fmt.Errorf("compute dtype %s is not supported: use float32, bfloat16 or float16", opts.DType)
	}
	if opts.Attention == "" {
		opts.Attention = AttentionSDPA
	}
	if !slices.Contains(attentionImpls, opts.Attention) {
		return nil, fmt.Errorf("attn_implementation %q is not supported; use one of %s", opts.Attention, strings.Join(attentionImpls, ", "))
	}
	backend := opts.Backend
	if backend == nil {
		b, err := accel.Shared()
		if err != nil {
			return nil, err
		}
		backend = b
	}
	if !backend.Capabilities().DTypes[opts.DType] {
		return nil, fmt.Errorf("backend %s cannot compute in %s; choose another torch_dtype", backend.Name(), opts.DType)
	}
	return &Model{
		Config: cfg, Store: gm.NewStore(), opts: opts, backend: backend,
		specs: tensorSpecs(cfg), invFreq: ropeInverseFrequencies(cfg), execs: newExecCache(),
	}, nil
}

// Clone returns a model with the same config and an independent copy of the weights (e.g. the
// reference model of GRPO, made from the policy).
func (m *Model) Clone() (*Model, error) {
	store, err := m.Store.Clone()
	if err != nil {
		return nil, fmt.Errorf("cloning model weights: %w", err)
	}
	c := *m
	c.Store, c.execs = store, newExecCache()
	return &c, nil
}

// Backend is the compute backend the model's graphs run on.
func (m *Model) Backend() compute.Backend { return m.backend }

// DType is the compute dtype of the forward pass.
func (m *Model) DType() dtypes.DType { return m.opts.DType }

// Options returns the options the model was built with (defaults filled in).
func (m *Model) Options() Options { return m.opts }

// TensorNames lists the Hugging Face names of the weights in canonical order.
func (m *Model) TensorNames() []string {
	names := make([]string, len(m.specs))
	for i, s := range m.specs {
		names[i] = s.Name
	}
	return names
}

// Variables returns the weight variables in canonical order (the order of TensorNames): a
// stable order for reference-model syncs and checkpoints.
func (m *Model) Variables() []*gm.Variable {
	vars := make([]*gm.Variable, len(m.specs))
	for i, s := range m.specs {
		vars[i] = m.Store.GetVariable(varPath(s.Name))
	}
	return vars
}

// Variable returns the variable of a Hugging Face tensor name, or nil.
func (m *Model) Variable(name string) *gm.Variable { return m.Store.GetVariable(varPath(name)) }

// SetTrainable marks every weight trainable or frozen (a reference model is frozen).
func (m *Model) SetTrainable(trainable bool) {
	for _, v := range m.Variables() {
		v.SetTrainable(trainable)
	}
}

// CopyWeightsFrom overwrites this model's weights with copies of src's (same architecture), as
// TRL's reference-model sync does with α = 1.
func (m *Model) CopyWeightsFrom(src *Model) error {
	if m.stacked || src.stacked {
		return fmt.Errorf("copying weights: an inference copy (Model.Inference) is refreshed with SetWeights, not copied")
	}
	if len(src.specs) != len(m.specs) {
		return fmt.Errorf("copying weights: models differ (%d and %d tensors)", len(src.specs), len(m.specs))
	}
	for i, s := range m.specs {
		if s.Name != src.specs[i].Name || !slices.Equal(s.Shape, src.specs[i].Shape) {
			return fmt.Errorf("copying weights: tensor %d is %s%v here and %s%v in the source", i, s.Name, s.Shape, src.specs[i].Name, src.specs[i].Shape)
		}
		v, err := src.Variable(s.Name).Value()
		if err != nil {
			return fmt.Errorf("copying weights: reading %s: %w", s.Name, err)
		}
		values, err := tensors.CopyFlatData[float32](v)
		if err != nil {
			return fmt.Errorf("copying weights: reading %s: %w", s.Name, err)
		}
		if err := m.Variable(s.Name).SetValue(tensors.FromFlatDataAndDimensions(values, s.Shape...)); err != nil {
			return fmt.Errorf("copying weights: setting %s: %w", s.Name, err)
		}
	}
	return nil
}

// NumParameters counts the weights (tied embeddings once).
func (m *Model) NumParameters() int64 {
	var n int64
	for _, s := range m.specs {
		k := int64(1)
		for _, d := range s.Shape {
			k *= int64(d)
		}
		n += k
	}
	return n
}

// ropeInverseFrequencies returns inv_freq for the config's rope type, computed as
// transformers' ROPE_INIT_FUNCTIONS do (modeling_rope_utils.py), in float64 and rounded once.
//
//	default: inv_freq_i = 1 / theta^(2i/d), i = 0..d/2-1
//	linear:  inv_freq_i / factor
//	llama3:  wavelen = 2π/inv_freq; wavelen < orig/high_freq_factor keeps inv_freq; wavelen >
//	         orig/low_freq_factor divides it by factor; in between it blends with
//	         s = (orig/wavelen − low) / (high − low): (1−s)·inv_freq/factor + s·inv_freq.
func ropeInverseFrequencies(c *hf.Config) []float32 {
	d := c.HeadDim
	r := c.Rope
	out := make([]float32, d/2)
	for i := range out {
		// transformers computes theta ** (arange(0, d, 2).float() / d) in float32.
		inv := 1 / math.Pow(r.Theta, float64(float32(float64(2*i)/float64(d))))
		switch r.Type {
		case "linear":
			inv /= r.Factor
		case "llama3":
			orig := float64(r.OriginalMaxPositionEmbeddings)
			lowWavelen, highWavelen := orig/r.LowFreqFactor, orig/r.HighFreqFactor
			wavelen := 2 * math.Pi / inv
			switch {
			case wavelen < highWavelen:
			case wavelen > lowWavelen:
				inv /= r.Factor
			default:
				s := (orig/wavelen - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor)
				inv = (1-s)*inv/r.Factor + s*inv
			}
		}
		out[i] = float32(inv)
	}
	return out
}
