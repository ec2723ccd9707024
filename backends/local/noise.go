package local

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads better unqualified
)

// Sampling noise is a counter-based generator written here instead of GoMLX's RandomUniform:
// RandomUniform draws one Philox stream for a whole tensor, so the noise a row gets would depend
// on the batch it sits in (its row number, the batch bucket, how a request was split). Hashing
// (row key, step, vocabulary index) instead gives every completion noise that depends only on the
// request's seed, its prompt index, its completion index and the step: the same completion comes
// out whatever the batching (see Sampling.Seed in core/generate).
//
// The mixer is Chris Wellons' "triple32" integer hash (public domain, hash-prospector), a
// bijection of uint32 with full avalanche; it needs only xor, shift and wrapping multiply, which
// every backend has.

// Constants of triple32 and of the key combination (odd 32-bit constants: the golden ratio and
// an arbitrary odd value, to separate the step and vocabulary counters).
const (
	mixShift1, mixShift2, mixShift3, mixShift4 = 17, 11, 15, 14
	mixMul1, mixMul2, mixMul3                  = 0xed5ad4bb, 0xac4c1b51, 0x31848bab
	stepSalt                                   = 0x632be5ab
	golden32                                   = 0x9e3779b9
)

// mix32 is triple32 on a uint32 tensor.
func mix32(x *Node) *Node {
	g := x.Graph()
	shr := func(x *Node, n int) *Node { return BitwiseXor(x, BitwiseShiftRightLogical(x, uconst(g, uint32(n)))) }
	x = shr(x, mixShift1)
	x = Mul(x, uconst(g, mixMul1))
	x = shr(x, mixShift2)
	x = Mul(x, uconst(g, mixMul2))
	x = shr(x, mixShift3)
	x = Mul(x, uconst(g, mixMul3))
	return shr(x, mixShift4)
}

// mix32Host is mix32 on the host (for row keys and the reference tests).
func mix32Host(x uint32) uint32 {
	x ^= x >> mixShift1
	x *= mixMul1
	x ^= x >> mixShift2
	x *= mixMul2
	x ^= x >> mixShift3
	x *= mixMul3
	x ^= x >> mixShift4
	return x
}

// uconst is a uint32 scalar constant. It uses Const, not Scalar: Scalar caches nodes per graph,
// and a cached node built in one function of the graph must not be used in another (the XLA
// backend rejects operands from an enclosing function inside a While body).
func uconst(g *Graph, v uint32) *Node { return Const(g, v) }

// rowKey derives the 32-bit noise key of completion j of prompt i of a request with the given
// seed (host side; see the file comment).
func rowKey(seed int64, prompt, completion int) uint32 {
	s := uint64(seed)
	h := mix32Host(uint32(s) ^ mix32Host(uint32(s>>32)^golden32))
	h = mix32Host(h ^ mix32Host(uint32(prompt)+stepSalt))
	return mix32Host(h ^ mix32Host(uint32(completion)^golden32))
}

// stepKeys mixes the step counter (int32 scalar) into the row keys [R] → [R,1] uint32.
func stepKeys(rowKeys, step *Node) *Node {
	g := rowKeys.Graph()
	s := Add(ConvertDType(step, dtypes.Uint32), uconst(g, stepSalt))
	return ExpandAxes(mix32(BitwiseXor(rowKeys, mix32(s))), -1)
}

// gumbelNoise returns standard Gumbel noise −log(−log U) [R,V] float32 for the keys [R,1] of one
// step: U = (bits>>8 + ½)·2⁻²⁴ lies strictly inside (0,1) and is exact in float32, so the noise
// is finite and lies in [−2.85, 17.3]: a token less likely than the most likely one by a factor
// above e^20 ≈ 5·10⁸ is never drawn (as float32 multinomial sampling, which cannot resolve such
// probabilities either).
func gumbelNoise(keys *Node, vocab int) *Node {
	g := keys.Graph()
	v := Iota(g, shapes.Make(dtypes.Uint32, 1, vocab), 1)
	bits := mix32(mix32(Add(keys, Mul(v, uconst(g, golden32)))))
	mant := ConvertDType(BitwiseShiftRightLogical(bits, uconst(g, 8)), dtypes.Float32)
	u := Mul(Add(mant, Const(g, float32(0.5))), Const(g, float32(1.0/(1<<24))))
	return Neg(Log(Neg(Log(u))))
}
