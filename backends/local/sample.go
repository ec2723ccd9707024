package local

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/gobackend"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph-building code reads better unqualified

	"github.com/grpo-dev/grpo/core/generate"
)

// processors says which of transformers' logits processors a compiled sampler applies. Each
// combination is its own graph; the values (temperature, top_k, ...) are graph inputs, so changing
// them does not recompile.
type processors struct {
	Greedy     bool // temperature 0: argmax after the repetition penalty, no warpers (do_sample=False)
	Repetition bool // repetition_penalty != 1
	TopK       bool // top_k > 0
	TopP       bool // top_p < 1
	MinP       bool // min_p > 0
}

func (p processors) String() string {
	return fmt.Sprintf("greedy=%t rep=%t top_k=%t top_p=%t min_p=%t", p.Greedy, p.Repetition, p.TopK, p.TopP, p.MinP)
}

// processorsFor picks the processors transformers' generate would build for s
// (GenerationMixin._get_logits_processor; temperature 1 is applied too: dividing by 1 is exact).
func processorsFor(s generate.Sampling) processors {
	p := processors{Greedy: s.Temperature == 0, Repetition: s.RepetitionPenalty != 1}
	if !p.Greedy {
		p.TopK, p.TopP, p.MinP = s.TopK > 0, s.TopP < 1, s.MinP > 0
	}
	return p
}

// checkSampling validates the sampling values with the ranges transformers accepts.
func checkSampling(s generate.Sampling) error {
	switch {
	case !(s.Temperature >= 0) || math.IsInf(s.Temperature, 0):
		return fmt.Errorf("temperature %v must be a finite number ≥ 0 (0 = greedy)", s.Temperature)
	case !(s.TopP > 0 && s.TopP <= 1):
		return fmt.Errorf("top_p %v must be in (0, 1] (1 disables it)", s.TopP)
	case s.TopK < 0:
		return fmt.Errorf("top_k %d must be ≥ 0 (0 disables it)", s.TopK)
	case !(s.MinP >= 0 && s.MinP <= 1):
		return fmt.Errorf("min_p %v must be in [0, 1] (0 disables it)", s.MinP)
	case !(s.RepetitionPenalty > 0) || math.IsInf(s.RepetitionPenalty, 0):
		return fmt.Errorf("repetition_penalty %v must be a finite number > 0 (1 disables it)", s.RepetitionPenalty)
	case s.MaxTokens < 1:
		return fmt.Errorf("max tokens (max_completion_length) %d must be ≥ 1", s.MaxTokens)
	}
	return nil
}

// samplingInputs are the graph inputs holding the sampling values (scalars).
type samplingInputs struct {
	Temperature, TopP, MinP, Penalty *Node // float32
	TopK                             *Node // int32
}

// samplingValues are the host values fed to samplingInputs, in samplingInputs' order.
func samplingValues(s generate.Sampling) []any {
	temp := float32(s.Temperature)
	if temp == 0 {
		temp = 1 // unused by the greedy graph, but an input all the same
	}
	return []any{temp, float32(s.TopP), float32(s.MinP), float32(s.RepetitionPenalty), int32(s.TopK)}
}

// numSamplingValues is len(samplingValues(...)).
const numSamplingValues = 5

func samplingInputsFrom(in []*Node) samplingInputs {
	return samplingInputs{Temperature: in[0], TopP: in[1], MinP: in[2], Penalty: in[3], TopK: in[4]}
}

// processLogits applies transformers' logits processors to logits [R,V] (float32, or the compute
// dtype, taken as their float32 values as generate does with .float()), in the order
// generate builds them (generation/utils.py _get_logits_processor; formulas from
// generation/logits_process.py), and returns the processed scores: removed tokens are −∞.
//
//	RepetitionPenaltyLogitsProcessor: for tokens in the prompt or the completion so far
//	  (seen [R,V]; padding excluded, see Generator), s < 0 ? s·penalty : s/penalty
//	TemperatureLogitsWarper: s / temperature
//	TopKLogitsWarper: remove s < (k-th largest s), k = min(max(top_k, 1), V)
//	TopPLogitsWarper: sort ascending, remove where cumsum(softmax) ≤ 1 − top_p, keep the largest
//	MinPLogitsWarper: p = softmax(s); remove p < min_p · max(p)
//
// Greedy decoding (do_sample=False) applies only the repetition penalty.
func processLogits(logits, seen *Node, proc processors, in samplingInputs) *Node {
	g := logits.Graph()
	s := ConvertDType(logits, dtypes.Float32)
	if proc.Repetition {
		pen := Where(LessThan(s, Const(g, float32(0))), Mul(s, in.Penalty), Div(s, in.Penalty))
		s = Where(seen, pen, s)
	}
	if proc.Greedy {
		return s
	}
	s = Div(s, in.Temperature)
	negInf := Const(g, float32(math.Inf(-1)))
	if proc.TopK {
		vocab := int32(s.Shape().Dimensions[1])
		k := Min(Max(in.TopK, Const(g, int32(1))), Const(g, vocab))
		keys := orderedKeys(s)
		kth := kthLargestKey(keys, k)
		s = Where(LessThan(keys, kth), negInf, s)
	}
	if proc.TopP {
		probs := softmax(s)
		keys := orderedKeys(s)
		cut := topPCutKey(keys, probs, Sub(Const(g, float32(1)), in.TopP))
		maxKey := ReduceAndKeep(keys, ReduceMax, -1)
		s = Where(LogicalAnd(LessOrEqual(keys, cut), LessThan(keys, maxKey)), negInf, s)
	}
	if proc.MinP {
		probs := softmax(s)
		limit := Mul(in.MinP, ReduceAndKeep(probs, ReduceMax, -1))
		s = Where(LessThan(probs, limit), negInf, s)
	}
	return s
}

// softmax over the last axis in float32, written out (exp(s − max) / Σ) as torch computes it;
// −∞ scores get probability 0.
func softmax(s *Node) *Node {
	e := Exp(Sub(s, ReduceAndKeep(s, ReduceMax, -1)))
	return Div(e, ReduceAndKeep(e, ReduceSum, -1))
}

// logProbOf returns log_softmax(s)[tok] per row in one pass over s: −log Σ_v exp(s_v − s_tok).
// Shifting by the chosen token's score instead of the row maximum saves the pass that finds the
// maximum, and cannot overflow: a greedy token is the maximum, and a Gumbel-max draw has
// s_tok ≥ max(s) − 20.2 (the noise lies in [−2.85, 17.3], see gumbelNoise), so every term is at
// most e^20.2 ≈ 6·10⁸ and the sum stays far inside float32 for any vocabulary.
func logProbOf(s, tok *Node) *Node {
	g := s.Graph()
	r := tok.Shape().Dimensions[0]
	at := Concatenate([]*Node{Iota(g, shapes.Make(dtypes.Int32, r, 1), 0), ExpandAxes(tok, -1)}, -1) // [R,2]
	chosen := ExpandAxes(Gather(s, at), -1)                                                          // [R,1]
	return Neg(Log(ReduceSum(Exp(Sub(s, chosen)), -1)))
}

// chooseTokens draws one token per row from the processed scores [R,V] and returns it with its
// log-probability under the distribution sampled from (log_softmax of the processed scores, as
// transformers' compute_transition_scores(normalize_logits=True)). Sampling is the Gumbel-max
// trick, argmax(s + G), which draws exactly from softmax(s); greedy is argmax(s) (first index on
// ties, as torch.argmax). keys [R,1] are the rows' noise keys for this step.
func chooseTokens(scores, keys *Node, greedy bool) (tok, logProb *Node) {
	if greedy {
		tok = ArgMax(scores, -1, dtypes.Int32)
	} else {
		tok = ArgMax(Add(scores, gumbelNoise(keys, scores.Shape().Dimensions[1])), -1, dtypes.Int32)
	}
	return tok, logProbOf(scores, tok)
}

// orderedKeys maps float32 scores to int32 keys with the same order (−0 is folded into +0, so
// equal floats get equal keys): k = bits ^ ((bits >> 31) & 0x7fffffff).
func orderedKeys(s *Node) *Node {
	g := s.Graph()
	s = Where(Equal(s, Const(g, float32(0))), Const(g, float32(0)), s)
	bits := Bitcast(s, dtypes.Int32)
	sign := BitwiseShiftRightArithmetic(bits, Const(g, int32(31)))
	return BitwiseXor(bits, BitwiseAnd(sign, Const(g, int32(math.MaxInt32))))
}

// searchWays is how many thresholds a pass of the top-k / top-p searches tests at once: a
// (ways+1)-section search needs ⌈log_(ways+1)(2³²+1)⌉ passes over the [R,V] scores (33 for a
// bisection, 9 for 15 ways). XLA fuses a pass into one reduction that reads the scores once, so
// more ways are cheaper there; the Go backend materialises the [R,V,ways] comparison, so it
// bisects. Tests override it with forceSearchWays.
func searchWays(g *Graph) int {
	if forceSearchWays > 0 {
		return forceSearchWays
	}
	if g.Backend().String() == gobackend.BackendName {
		return 1
	}
	return 15
}

var forceSearchWays = 0

// searchPasses is the number of (ways+1)-section passes that shrink an interval of the given
// width to width 1.
func searchPasses(width int64, ways int) int {
	n := 0
	for width > 1 {
		width = (width + int64(ways)) / int64(ways+1)
		n++
	}
	return n
}

// thresholds returns [R,ways] the int64 points lo + ⌊j·(hi−lo)/(ways+1)⌋, j = 1..ways, of the
// bounds [R,1]: whichever two consecutive points (or bound) enclose the answer are at most
// ⌈(hi−lo)/(ways+1)⌉ apart.
func thresholds(lo, hi *Node, ways int) *Node {
	g := lo.Graph()
	j := Add(Iota(g, shapes.Make(dtypes.Int64, 1, ways), 1), Const(g, int64(1)))
	return Add(lo, Div(Mul(Sub(hi, lo), j), Const(g, int64(ways+1))))
}

// narrow moves lo up to the largest threshold where ok holds and hi down to the smallest where
// it does not (ok is true on a prefix of the thresholds: the tested quantity is monotone).
func narrow(lo, hi, t, ok *Node) (*Node, *Node) {
	g := lo.Graph()
	lo = Max(lo, ReduceAndKeep(Where(ok, t, Const(g, int64(math.MinInt64))), ReduceMax, -1))
	hi = Min(hi, ReduceAndKeep(Where(ok, Const(g, int64(math.MaxInt64)), t), ReduceMin, -1))
	return lo, hi
}

// keyThresholds converts thresholds to int32 keys for comparisons (clamped at MinInt32, which
// no key takes, so "key ≤ MinInt32 − 1" and "key ≤ MinInt32" select the same nothing).
// The result is [R,W,1] against scores laid out [R,1,V]: each pass then reduces over the minor
// (vocabulary) axis, a row reduction XLA emits far faster than the column reduction over a
// middle axis that an [R,V,W] layout gives.
func keyThresholds(t *Node) *Node {
	return ExpandAxes(ConvertDType(Max(t, Const(t.Graph(), int64(math.MinInt32))), dtypes.Int32), -1) // [R,W,1]
}

// kthLargestKey returns [R,1] the k-th largest key of each row (k: int32 scalar in [1, V]): the
// largest t with #{keys ≥ t} ≥ k, found by a multisection search on the key value. No sort:
// GoMLX's Sort and TopK build their comparator as a closure of the graph's main function, which
// the XLA backend rejects inside a While body (the decode loop); counting passes work everywhere
// and are exact.
func kthLargestKey(keys, k *Node) *Node {
	g := keys.Graph()
	rows, ways := keys.Shape().Dimensions[0], searchWays(g)
	// Invariant: count(≥ lo) ≥ k, count(≥ hi) < k.
	lo := BroadcastToDims(Const(g, int64(math.MinInt32)), rows, 1)
	hi := BroadcastToDims(Const(g, int64(math.MaxInt32)+1), rows, 1)
	k32 := ConvertDType(k, dtypes.Int32)
	k3 := ExpandAxes(keys, 1) // [R,1,V]
	for range searchPasses(1<<32+1, ways) {
		t := thresholds(lo, hi, ways)
		n := ReduceSum(ConvertDType(GreaterOrEqual(k3, keyThresholds(t)), dtypes.Int32), -1) // [R,W]
		lo, hi = narrow(lo, hi, t, GreaterOrEqual(n, k32))
	}
	return ConvertDType(lo, dtypes.Int32)
}

// topPCutKey returns [R,1] the largest key t with Σ{p : key ≤ t} ≤ limit (limit = 1 − top_p), or
// MinInt32 when no key qualifies. Tokens with key ≤ t are exactly those transformers'
// TopPLogitsWarper removes (its ascending cumulative sum at a token is the mass of the tokens up
// to it), except that tied scores are kept or removed together.
func topPCutKey(keys, probs, limit *Node) *Node {
	g := keys.Graph()
	rows, ways := keys.Shape().Dimensions[0], searchWays(g)
	// Invariant: mass(≤ lo) ≤ limit, mass(≤ hi) > limit (hi past every key: the total, 1).
	lo := BroadcastToDims(Const(g, int64(math.MinInt32)-1), rows, 1)
	hi := BroadcastToDims(Const(g, int64(math.MaxInt32)), rows, 1)
	k3, p3 := ExpandAxes(keys, 1), ExpandAxes(probs, 1) // [R,1,V]
	for range searchPasses(1<<32, ways) {
		t := thresholds(lo, hi, ways)
		below := ConvertDType(LessOrEqual(k3, keyThresholds(t)), dtypes.Float32) // [R,W,V]
		mass := ReduceSum(Mul(p3, below), -1)                                    // [R,W]
		lo, hi = narrow(lo, hi, t, LessOrEqual(mass, limit))
	}
	return ConvertDType(Max(lo, Const(g, int64(math.MinInt32))), dtypes.Int32)
}
