package model

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/layers/attention/pos"
	gm "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Inputs of a forward pass, as graph nodes.
type Inputs struct {
	// Tokens are the token ids, int32 [B,T].
	Tokens *Node
	// Positions are the rotary positions, int32 [B,T]. For left-padded rows transformers uses
	// position_ids = cumsum(attention_mask) − 1 (pads get 1; their value does not matter).
	Positions *Node
	// Mask marks real tokens (nonzero) and padding (0), any integer or bool dtype. Forward takes
	// it over the T input positions [B,T]; ForwardCached over the S cache slots [B,S].
	Mask *Node
}

// Forward returns the last hidden states [B,T,D] (after the final RMSNorm, in the compute dtype)
// of a causal forward pass over a padded batch: position t attends to positions s ≤ t whose mask
// is set. Padded positions produce finite values that callers must ignore.
//
// It must be called while building a graph of a GoMLX model.Exec on m.Store. With
// Options.GradientCheckpointing each decoder layer is recomputed in the backward pass.
func (m *Model) Forward(in Inputs) *Node {
	m.checkInputs(in, 0)
	g := in.Tokens.Graph()
	t := in.Tokens.Shape().Dimensions[1]
	keyValid := NotEqual(ConvertDType(in.Mask, dtypes.Int32), ScalarZero(g, dtypes.Int32)) // [B,T]
	q := Iota(g, shapes.Make(dtypes.Int32, t, t), 0)
	s := Iota(g, shapes.Make(dtypes.Int32, t, t), 1)
	causal := ExpandAxes(LessOrEqual(s, q), 0, 2)         // [1,T,1,T]
	diagonal := ExpandAxes(Equal(s, q), 0, 2)             // [1,T,1,T]
	keys := ExpandAxes(keyValid, 1, 2)                    // [B,1,1,T]
	mask := LogicalOr(LogicalAnd(causal, keys), diagonal) // [B,T,1,T], BSHD score layout
	att := attentionMask{mask: mask, keyValid: keyValid, fusable: m.fusedAttention(g)}
	x := m.embed(in.Tokens)
	cos, sin := m.rotary(in.Positions)
	for i := range m.Config.NumHiddenLayers {
		if m.opts.GradientCheckpointing {
			x = x.Checkpoint()
		}
		x, _, _ = m.layer(i, x, cos, sin, att, nil)
	}
	if m.opts.GradientCheckpointing {
		x = x.StopCheckpoint()
	}
	return m.rmsNorm(x, "model.norm.weight")
}

// ForwardCached runs T new tokens per row against a KV cache of S slots and returns their hidden
// states [B,T,D] and the updated cache. The new tokens are written to slots writeAt..writeAt+T−1
// (writeAt: int32 scalar, the same slot for every row: prompts are left-padded to a common
// length); in.Mask [B,S] marks the slots holding real tokens, including the new ones; positions
// are per row. Slot s is visible to new token t when s ≤ writeAt+t and its mask is set.
//
// A sampler runs a prefill (T = prompt length, writeAt 0) and then decode steps (T = 1). On XLA
// the cache is updated with DynamicUpdateSlice (in place when the cache is a While loop's state);
// the Go backend has no DynamicUpdateSlice, so there a masked select writes the slots. Attention
// reads the cache in the compute dtype (see attendCached). writeAt+T must not exceed S.
func (m *Model) ForwardCached(in Inputs, writeAt *Node, cache *Cache) (*Node, *Cache) {
	if cache == nil || len(cache.Keys) != m.Config.NumHiddenLayers || len(cache.Values) != m.Config.NumHiddenLayers {
		exceptions.Panicf("ForwardCached needs a cache with %d layers of keys and values (see NewCache)", m.Config.NumHiddenLayers)
	}
	slots := cache.Keys[0].Shape().Dimensions[CacheSlotsAxis]
	m.checkInputs(in, slots)
	g := in.Tokens.Graph()
	t := in.Tokens.Shape().Dimensions[1]
	if t > slots {
		exceptions.Panicf("ForwardCached: %d new tokens do not fit a cache of %d slots", t, slots)
	}
	writeAt = ConvertDType(writeAt, dtypes.Int32)
	keyValid := NotEqual(ConvertDType(in.Mask, dtypes.Int32), ScalarZero(g, dtypes.Int32)) // [B,S]
	qSlot := Add(Iota(g, shapes.Make(dtypes.Int32, t, slots), 0), writeAt)                 // slot of query t
	s := Iota(g, shapes.Make(dtypes.Int32, t, slots), 1)
	causal := ExpandAxes(LessOrEqual(s, qSlot), 0, 1, 2)                           // [1,1,1,T,S]
	diagonal := ExpandAxes(Equal(s, qSlot), 0, 1, 2)                               // [1,1,1,T,S]
	mask := LogicalOr(LogicalAnd(causal, ExpandAxes(keyValid, 1, 2, 3)), diagonal) // [B,1,1,T,S]
	att := attentionMask{cached: mask}
	x := m.embed(in.Tokens)
	cos, sin := m.rotary(in.Positions)
	out := &Cache{Keys: make([]*Node, len(cache.Keys)), Values: make([]*Node, len(cache.Values))}
	for i := range m.Config.NumHiddenLayers {
		c := &layerCache{keys: cache.Keys[i], values: cache.Values[i], writeAt: writeAt}
		x, out.Keys[i], out.Values[i] = m.layer(i, x, cos, sin, att, c)
	}
	return m.rmsNorm(x, "model.norm.weight"), out
}

// OutputWeights returns the output projection [V,D] in the compute dtype: lm_head.weight, or the
// token embedding when tie_word_embeddings is set. Logits are hidden·Wᵀ.
func (m *Model) OutputWeights(g *Graph) *Node {
	if m.Config.TieWordEmbeddings {
		return m.weight(g, "model.embed_tokens.weight")
	}
	return m.weight(g, "lm_head.weight")
}

// Logits projects hidden states [B,T,D] to float32 logits [B,T,V], accumulating in float32.
func (m *Model) Logits(hidden *Node) *Node {
	w := m.OutputWeights(hidden.Graph())
	if hidden.DType() == dtypes.Float32 {
		return Einsum("btd,vd->btv", hidden, w)
	}
	var logits *Node
	err := exceptions.TryCatch[error](func() {
		logits = Dot(hidden, w).WithAccumulatorDType(dtypes.Float32).WithOutputDType(dtypes.Float32).Einsum("btd,vd->btv")
	})
	if err != nil || logits.DType() != dtypes.Float32 { // backends without mixed-dtype products
		logits = Einsum("btd,vd->btv", ConvertDType(hidden, dtypes.Float32), ConvertDType(w, dtypes.Float32))
	}
	return logits
}

func (m *Model) checkInputs(in Inputs, slots int) {
	if in.Tokens == nil || in.Positions == nil || in.Mask == nil {
		exceptions.Panicf("model inputs need Tokens, Positions and Mask")
	}
	if gm.GetStore(in.Tokens) != m.Store {
		exceptions.Panicf("the model's graph must be built by a model.Exec on the model's Store (model.NewExec(m.Backend(), m.Store, ...))")
	}
	if in.Tokens.Rank() != 2 || !in.Tokens.DType().IsInt() {
		exceptions.Panicf("Tokens must be integer [batch, seq], got %s", in.Tokens.Shape())
	}
	b, t := in.Tokens.Shape().Dimensions[0], in.Tokens.Shape().Dimensions[1]
	if !in.Positions.Shape().Equal(shapes.Make(in.Positions.DType(), b, t)) || !in.Positions.DType().IsInt() {
		exceptions.Panicf("Positions must be integer [%d, %d] like Tokens, got %s", b, t, in.Positions.Shape())
	}
	want := t
	if slots > 0 {
		want = slots
	}
	if in.Mask.Rank() != 2 || in.Mask.Shape().Dimensions[0] != b || in.Mask.Shape().Dimensions[1] != want {
		exceptions.Panicf("Mask must be [%d, %d], got %s", b, want, in.Mask.Shape())
	}
}

// weight returns a master weight cast to the compute dtype.
func (m *Model) weight(g *Graph, name string) *Node {
	v := m.Store.GetVariable(varPath(name))
	if v == nil {
		exceptions.Panicf("model has no weight %q", name)
	}
	w := v.NodeValue(g)
	if w.DType() != m.opts.DType {
		w = ConvertDType(w, m.opts.DType)
	}
	return w
}

// embed looks up token embeddings (rows of the float32 table, then cast).
func (m *Model) embed(tokens *Node) *Node {
	table := m.Store.GetVariable(varPath("model.embed_tokens.weight")).NodeValue(tokens.Graph())
	x := Gather(table, ExpandAxes(ConvertDType(tokens, dtypes.Int32), -1)) // [B,T,D]
	return ConvertDType(x, m.opts.DType)
}

// rmsNorm is Qwen2RMSNorm / LlamaRMSNorm: in float32, x / sqrt(mean(x²) + eps), cast back to the
// compute dtype, then times the scale. (Division by Sqrt instead of rsqrt: GoMLX has no gradient
// for Rsqrt; the results agree to an ulp.)
func (m *Model) rmsNorm(x *Node, name string) *Node {
	x32 := ConvertDType(x, dtypes.Float32)
	variance := ReduceAndKeep(Square(x32), ReduceMean, -1)
	normed := Div(x32, Sqrt(AddScalar(variance, m.Config.RMSNormEps)))
	scale := m.weight(x.Graph(), name)
	return Mul(ConvertDType(normed, m.opts.DType), ExpandLeftToRank(scale, x.Rank()))
}

// linear is torch's nn.Linear, x·Wᵀ + b, with the [out, in] weight of the checkpoint. (GoMLX's
// nn.Dense would pick the Go backend's fused kernel, which fails at run time for bfloat16.)
func (m *Model) linear(x *Node, prefix string, bias bool) *Node {
	g := x.Graph()
	y := Einsum("btd,od->bto", x, m.weight(g, prefix+".weight"))
	if bias {
		y = Add(y, ExpandLeftToRank(m.weight(g, prefix+".bias"), 3))
	}
	return y
}

// rotary computes cos and sin [B,T,hd/2] of positions × inv_freq in float32 (as transformers'
// rotary embedding does), cast to the compute dtype.
func (m *Model) rotary(positions *Node) (cos, sin *Node) {
	g := positions.Graph()
	p := ExpandAxes(ConvertDType(positions, dtypes.Float32), -1) // [B,T,1]
	inv := Reshape(Const(g, m.invFreq), 1, 1, len(m.invFreq))    // [1,1,hd/2]
	angles := Mul(p, inv)                                        // [B,T,hd/2]
	return ConvertDType(Cos(angles), m.opts.DType), ConvertDType(Sin(angles), m.opts.DType)
}

// layer is one decoder layer (Qwen2DecoderLayer / LlamaDecoderLayer):
//
//	h = x + o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n))), n = input_layernorm(x)
//	y = h + down_proj(silu(gate_proj(n')) · up_proj(n')),                   n' = post_attention_layernorm(h)
//
// With a cache it also returns the layer's updated keys and values.
func (m *Model) layer(i int, x, cos, sin *Node, att attentionMask, cache *layerCache) (y, keys, values *Node) {
	c := m.Config
	p := fmt.Sprintf("model.layers.%d.", i)
	b, t := x.Shape().Dimensions[0], x.Shape().Dimensions[1]
	n := m.rmsNorm(x, p+"input_layernorm.weight")
	qd, kvd := c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	var q, k, v *Node
	if m.stacked { // one product for q, k and v (see Inference)
		qkv := m.linear(n, p+qkvProj, c.QKVBias)
		q, k, v = Slice(qkv, AxisRange(), AxisRange(), AxisRange(0, qd)), Slice(qkv, AxisRange(), AxisRange(), AxisRange(qd, qd+kvd)),
			Slice(qkv, AxisRange(), AxisRange(), AxisRange(qd+kvd, qd+2*kvd))
	} else {
		q, k, v = m.linear(n, p+"self_attn.q_proj", c.QKVBias), m.linear(n, p+"self_attn.k_proj", c.QKVBias), m.linear(n, p+"self_attn.v_proj", c.QKVBias)
	}
	q = Reshape(q, b, t, c.NumAttentionHeads, c.HeadDim)
	k = Reshape(k, b, t, c.NumKeyValueHeads, c.HeadDim)
	v = Reshape(v, b, t, c.NumKeyValueHeads, c.HeadDim)
	rope := pos.NewRoPEWithCosSin(cos, sin) // rotate_half layout: pairs (i, i+hd/2)
	q, k = rope.Encode(q, 1), rope.Encode(k, 1)
	var a *Node
	if cache != nil {
		keys = writeCache(cache.keys, k, cache.writeAt)
		values = writeCache(cache.values, v, cache.writeAt)
		a = m.attendCached(q, keys, values, att.cached)
	} else {
		a = m.attend(q, k, v, att)
	}
	h := Add(x, m.linear(Reshape(a, b, t, c.NumAttentionHeads*c.HeadDim), p+"self_attn.o_proj", c.OutBias))
	n = m.rmsNorm(h, p+"post_attention_layernorm.weight")
	var gate, up *Node
	if m.stacked { // one product for gate and up (see Inference)
		gu := m.linear(n, p+gateUpProj, c.MLPBias)
		inter := c.IntermediateSize
		gate, up = Slice(gu, AxisRange(), AxisRange(), AxisRange(0, inter)), Slice(gu, AxisRange(), AxisRange(), AxisRange(inter, 2*inter))
	} else {
		gate, up = m.linear(n, p+"mlp.gate_proj", c.MLPBias), m.linear(n, p+"mlp.up_proj", c.MLPBias)
	}
	gate = activation.Apply(activation.TypeSilu, gate)
	y = Add(h, m.linear(Mul(gate, up), p+"mlp.down_proj", c.MLPBias))
	return y, keys, values
}
