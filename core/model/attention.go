package model

import (
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/attention"
)

// attentionMask carries the masking of one forward pass, shared by all layers.
type attentionMask struct {
	// mask [B,Tq,1,Tk] (the BSHD score layout): query t sees key s. It is causal ∧ key-is-real,
	// plus the diagonal, so that a padding query always sees at least itself: fully masked rows
	// would give 0/0 in the softmax, and their NaNs would reach real rows through the values.
	mask *Node
	// keyValid [B,Tk] and fusable are set when the fused (flash) path may serve the call: it takes
	// causality as a flag and padding as an additive bias, not a boolean mask.
	keyValid *Node
	fusable  bool
}

// forceFusedMasking makes every full forward take the fused path's masking (causal flag +
// padding bias). Tests set it: on the Go backend attention.Core then runs that masking through its
// decomposed fallback, which checks the bias construction that xla:cuda uses.
var forceFusedMasking = false

// fusedAttention reports whether the backend's fused attention may serve this model's full
// forward: the backend has the op, attn_implementation is not eager, and the dtype is half
// precision (cuDNN's flash attention takes bf16/f16 only; in float32 the decomposed graph is used,
// which is also what makes float32 parity exact).
func (m *Model) fusedAttention(g *Graph) bool {
	if forceFusedMasking {
		return true
	}
	caps := g.Backend().Capabilities()
	return m.opts.Attention != AttentionEager && caps.Operations[compute.OpTypeFusedScaledDotProductAttention] &&
		m.opts.DType.IsHalfPrecision() && m.Config.HeadDim%8 == 0
}

// attend is grouped-query scaled dot-product attention (scale 1/sqrt(head_dim)) over q [B,T,H,hd]
// and k, v [B,S,KV,hd], with GoMLX's attention.Core: it shares each KV head among H/KV query
// heads without copying K/V, and uses the fused kernel when it can. The decomposed graph runs in
// float32 whatever the compute dtype, as transformers' eager attention does
// (softmax(..., dtype=torch.float32)); flash attention also keeps its softmax in float32.
func (m *Model) attend(q, k, v *Node, att attentionMask) *Node {
	if !att.fusable {
		dt := q.DType()
		if dt != dtypes.Float32 {
			q, k, v = ConvertDType(q, dtypes.Float32), ConvertDType(k, dtypes.Float32), ConvertDType(v, dtypes.Float32)
		}
		out, _ := attention.Core(q, k, v, attention.LayoutBSHD, attention.CoreOptions{AttentionMask: att.mask, DisableFusion: true})
		return ConvertDType(out, dt)
	}
	// Causal flag + padding bias [B,H,T,T]: cuDNN needs the bias at full size. Masked keys get
	// half the dtype's lowest value (transformers uses finfo.min): finite, so padding rows (whose
	// visible keys are all masked) average their keys instead of producing NaN.
	b, t := q.Shape().Dimensions[0], q.Shape().Dimensions[1]
	g := q.Graph()
	dt := m.opts.DType
	bias := Where(ExpandAxes(att.keyValid, 1, 2), ScalarZero(g, dt), Scalar(g, dt, lowestHalf(dt))) // [B,1,1,T]
	bias = BroadcastToDims(bias, b, m.Config.NumAttentionHeads, t, t)
	out, _ := attention.Core(q, k, v, attention.LayoutBSHD, attention.CoreOptions{UseCausalMask: true, AttentionBias: bias})
	return out
}

func lowestHalf(dt dtypes.DType) float64 {
	switch dt {
	case dtypes.Float16:
		return -65504.0 / 2
	case dtypes.BFloat16:
		return -3.38e38 / 2
	}
	return -3.4e38 / 2
}

// Cache is the KV cache of ForwardCached: per layer, keys and values [B,S,KV,hd] in the compute
// dtype (S slots, KV heads).
type Cache struct {
	Keys, Values []*Node
}

// Nodes flattens the cache as k0, v0, k1, v1, ... (the order of NewCache's tensors), e.g. to
// return it from an Exec.
func (c *Cache) Nodes() []*Node {
	out := make([]*Node, 0, 2*len(c.Keys))
	for i := range c.Keys {
		out = append(out, c.Keys[i], c.Values[i])
	}
	return out
}

// CacheFromNodes is the inverse of Cache.Nodes.
func CacheFromNodes(nodes []*Node) *Cache {
	c := &Cache{}
	for i := 0; i+1 < len(nodes); i += 2 {
		c.Keys = append(c.Keys, nodes[i])
		c.Values = append(c.Values, nodes[i+1])
	}
	return c
}

// CacheShape is the shape of each of the 2·layers cache tensors for a batch of B rows and S slots.
func (m *Model) CacheShape(batch, slots int) shapes.Shape {
	return shapes.Make(m.opts.DType, batch, slots, m.Config.NumKeyValueHeads, m.Config.HeadDim)
}

// NewCache allocates a zeroed KV cache on the host: NumCacheTensors tensors of CacheShape, in the
// order k0, v0, k1, v1, ... that CacheFromNodes expects.
func (m *Model) NewCache(batch, slots int) []*tensors.Tensor {
	out := make([]*tensors.Tensor, m.NumCacheTensors())
	for i := range out {
		out[i] = tensors.FromShape(m.CacheShape(batch, slots))
	}
	return out
}

// NumCacheTensors is 2·layers: the keys and values of every layer.
func (m *Model) NumCacheTensors() int { return 2 * m.Config.NumHiddenLayers }

// layerCache is one layer's cache inputs.
type layerCache struct {
	keys, values, writeAt *Node
}

// writeCache stores update [B,T,KV,hd] into cache [B,S,KV,hd] at slots writeAt..writeAt+T-1.
// XLA: DynamicUpdateSlice (in place when the cache buffer is donated). The Go backend has no
// DynamicUpdateSlice: for T = 1 a select on the slot index; for T > 1 each slot picks its token
// with a one-hot product (exact: one term 1·x, the others 0·y) and a select keeps the other slots.
func writeCache(cache, update, writeAt *Node) *Node {
	g := cache.Graph()
	if g.Backend().Capabilities().Operations[compute.OpTypeDynamicUpdateSlice] {
		zero := ScalarZero(g, dtypes.Int32)
		return DynamicUpdateSlice(cache, update, []*Node{zero, writeAt, zero, zero})
	}
	s := cache.Shape().Dimensions[1]
	t := update.Shape().Dimensions[1]
	slot := Iota(g, shapes.Make(dtypes.Int32, s), 0)
	offset := Sub(slot, writeAt) // token index each slot would take
	inRange := LogicalAnd(GreaterOrEqual(offset, ScalarZero(g, dtypes.Int32)), LessThan(offset, Scalar(g, dtypes.Int32, t)))
	var scattered *Node
	if t == 1 {
		scattered = BroadcastToShape(update, cache.Shape())
	} else {
		oneHot := OneHot(Clamp(ScalarZero(g, dtypes.Int32), offset, Scalar(g, dtypes.Int32, t-1)), t, update.DType()) // [S,T]
		scattered = Einsum("btkd,st->bskd", update, oneHot)
	}
	sel := BroadcastToShape(Reshape(inRange, 1, s, 1, 1), cache.Shape())
	return Where(sel, scattered, cache)
}
