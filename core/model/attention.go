package model

import (
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/attention"
	"github.com/gomlx/gomlx/support/exceptions"
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
	// cached [B,1,1,T,S] is the mask of ForwardCached's T queries over the S cache slots (the
	// layout attendCached takes); set only on that path.
	cached *Node
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

// attendCached is grouped-query attention of T new queries q [B,T,H,hd] over the KV cache
// k, v [B,KV,S,hd]; mask [B,1,1,T,S] (bool) marks the slots each query sees. It reads the cache
// in the compute dtype and never makes a float32 copy of it: the scores are one batched product
// per (row, KV head) that accumulates in float32 and returns float32; the softmax runs in float32,
// as transformers' attention does (softmax(..., dtype=torch.float32)); the probabilities are then
// rounded to the compute dtype, as transformers does (.to(query.dtype)), and multiply the values
// with float32 accumulation. A KV head serves query heads kv·g … kv·g+g−1 (transformers'
// repeat_kv), so the query heads are grouped per KV head with a reshape, never by copying K/V.
// In float32 every step is float32.
func (m *Model) attendCached(q, k, v, mask *Node) *Node {
	d := q.Shape().Dimensions
	b, t, h, hd := d[0], d[1], d[2], d[3]
	kv, s := k.Shape().Dimensions[1], k.Shape().Dimensions[CacheSlotsAxis]
	grp := h / kv
	qg := Reshape(TransposeAllAxes(Reshape(q, b, t, kv, grp, hd), 0, 2, 3, 1, 4), b, kv, grp*t, hd) // [B,KV,g·T,hd]
	scores := dotF32(qg, []int{3}, []int{0, 1}, k, []int{3}, []int{0, 1})                           // [B,KV,g·T,S]
	scores = Reshape(MulScalar(scores, 1/math.Sqrt(float64(hd))), b, kv, grp, t, s)
	probs := MaskedSoftmax(scores, BroadcastToShape(mask, scores.Shape()), -1)
	probs = ConvertDType(Reshape(probs, b, kv, grp*t, s), q.DType())
	out := Dot(probs, v).General([]int{3}, []int{0, 1}, []int{2}, []int{0, 1}) // [B,KV,g·T,hd]
	out = TransposeAllAxes(Reshape(out, b, kv, grp, t, hd), 0, 3, 1, 2, 4)     // [B,T,KV,g,hd]
	return Reshape(out, b, t, h, hd)
}

// dotF32 is DotGeneral (contracting and batch axes as in graph.DotBuilder.General) of operands in
// the compute dtype, accumulated in and returned as float32. Backends that take mixed-dtype
// products (XLA) read the operands as they are; the others get float32 copies.
func dotF32(lhs *Node, lhsContract, lhsBatch []int, rhs *Node, rhsContract, rhsBatch []int) *Node {
	if lhs.DType() == dtypes.Float32 {
		return Dot(lhs, rhs).General(lhsContract, lhsBatch, rhsContract, rhsBatch)
	}
	var out *Node
	err := exceptions.TryCatch[error](func() {
		out = Dot(lhs, rhs).WithAccumulatorDType(dtypes.Float32).WithOutputDType(dtypes.Float32).
			General(lhsContract, lhsBatch, rhsContract, rhsBatch)
	})
	if err != nil || out.DType() != dtypes.Float32 {
		out = Dot(ConvertDType(lhs, dtypes.Float32), ConvertDType(rhs, dtypes.Float32)).
			General(lhsContract, lhsBatch, rhsContract, rhsBatch)
	}
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

// Cache is the KV cache of ForwardCached: per layer, keys and values [B,KV,S,hd] in the compute
// dtype (KV heads, S slots). Heads come before slots so that a decode step's attention is a
// batched matrix product over (row, KV head) reading each head's slots contiguously, with no
// transposed copy of the cache.
type Cache struct {
	Keys, Values []*Node
}

// CacheSlotsAxis is the axis of the cache tensors that indexes the slots.
const CacheSlotsAxis = 2

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

// CacheShape is the shape of each of the 2·layers cache tensors for a batch of B rows and S
// slots: [B, KV heads, S, head_dim] in the compute dtype.
func (m *Model) CacheShape(batch, slots int) shapes.Shape {
	return shapes.Make(m.opts.DType, batch, m.Config.NumKeyValueHeads, slots, m.Config.HeadDim)
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

// writeCache stores update [B,T,KV,hd] (the layout of the projections) into cache [B,KV,S,hd] at
// slots writeAt..writeAt+T-1. XLA: DynamicUpdateSlice (in place inside the decode loop, whose
// state buffers XLA reuses). The Go backend has no DynamicUpdateSlice: for T = 1 a select on the
// slot index; for T > 1 each slot picks its token with a one-hot product (exact: one term 1·x,
// the others 0·y) and a select keeps the other slots.
func writeCache(cache, update, writeAt *Node) *Node {
	g := cache.Graph()
	update = TransposeAllAxes(update, 0, 2, 1, 3) // [B,KV,T,hd]
	if g.Backend().Capabilities().Operations[compute.OpTypeDynamicUpdateSlice] {
		zero := ScalarZero(g, dtypes.Int32)
		return DynamicUpdateSlice(cache, update, []*Node{zero, zero, writeAt, zero})
	}
	s := cache.Shape().Dimensions[CacheSlotsAxis]
	t := update.Shape().Dimensions[CacheSlotsAxis]
	slot := Iota(g, shapes.Make(dtypes.Int32, s), 0)
	offset := Sub(slot, writeAt) // token index each slot would take
	inRange := LogicalAnd(GreaterOrEqual(offset, ScalarZero(g, dtypes.Int32)), LessThan(offset, Scalar(g, dtypes.Int32, t)))
	var scattered *Node
	if t == 1 {
		scattered = BroadcastToShape(update, cache.Shape())
	} else {
		oneHot := OneHot(Clamp(ScalarZero(g, dtypes.Int32), offset, Scalar(g, dtypes.Int32, t-1)), t, update.DType()) // [S,T]
		scattered = Einsum("bktd,st->bksd", update, oneHot)
	}
	sel := BroadcastToShape(Reshape(inRange, 1, 1, s, 1), cache.Shape())
	return Where(sel, scattered, cache)
}
