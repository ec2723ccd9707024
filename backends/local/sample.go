package local

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
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

// processLogits applies transformers' logits processors to float32 logits [R,V], in the order
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
	s := logits
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

// logSoftmaxAt returns log_softmax(s)[tok] per row: s[tok] − max − log Σ exp(s − max).
func logSoftmaxAt(s, tok *Node) *Node {
	g := s.Graph()
	m := ReduceAndKeep(s, ReduceMax, -1)
	lse := Add(m, Log(ReduceAndKeep(Exp(Sub(s, m)), ReduceSum, -1)))
	hit := Equal(Iota(g, shapes.Make(dtypes.Int32, 1, s.Shape().Dimensions[1]), 1), ExpandAxes(tok, -1))
	chosen := ReduceAndKeep(Where(hit, s, Const(g, float32(0))), ReduceSum, -1)
	return Reshape(Sub(chosen, lse), tok.Shape().Dimensions...)
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
	return tok, logSoftmaxAt(scores, tok)
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

// bisectionSteps halve an int64 interval of width 2³² + 1 down to width 1.
const bisectionSteps = 33

// kthLargestKey returns [R,1] the k-th largest key of each row (k: int32 scalar in [1, V]) by
// bisection on the key value: the largest t with #{keys ≥ t} ≥ k. No sort: GoMLX's Sort and TopK
// build their comparator as a closure of the graph's main function, which the XLA backend rejects
// inside a While body (the decode loop); 33 counting passes work everywhere and are exact.
func kthLargestKey(keys, k *Node) *Node {
	g := keys.Graph()
	rows := keys.Shape().Dimensions[0]
	// Invariant: count(≥ lo) ≥ k, count(≥ hi) < k.
	lo := BroadcastToDims(Const(g, int64(math.MinInt32)), rows, 1)
	hi := BroadcastToDims(Const(g, int64(math.MaxInt32)+1), rows, 1)
	k64 := ConvertDType(k, dtypes.Int64)
	for range bisectionSteps {
		mid := midpoint(lo, hi)
		n := ReduceAndKeep(ConvertDType(GreaterOrEqual(keys, ConvertDType(mid, dtypes.Int32)), dtypes.Int64), ReduceSum, -1)
		ok := GreaterOrEqual(n, k64)
		lo, hi = Where(ok, mid, lo), Where(ok, hi, mid)
	}
	return ConvertDType(lo, dtypes.Int32)
}

// topPCutKey returns [R,1] the largest key t with Σ{p : key ≤ t} ≤ limit (limit = 1 − top_p), or
// MinInt32 − 1 clamped to MinInt32 when no key qualifies. Tokens with key ≤ t are exactly those
// transformers' TopPLogitsWarper removes (its ascending cumulative sum at a token is the mass of
// the tokens up to it), except that tied scores are kept or removed together.
func topPCutKey(keys, probs, limit *Node) *Node {
	g := keys.Graph()
	rows := keys.Shape().Dimensions[0]
	// Invariant: mass(≤ lo) ≤ limit, mass(≤ hi) > limit (hi past every key: the total, 1).
	lo := BroadcastToDims(Const(g, int64(math.MinInt32)-1), rows, 1)
	hi := BroadcastToDims(Const(g, int64(math.MaxInt32)), rows, 1)
	zero := Const(g, float32(0))
	for range bisectionSteps {
		mid := midpoint(lo, hi)
		mass := ReduceAndKeep(Where(LessOrEqual(keys, ConvertDType(mid, dtypes.Int32)), probs, zero), ReduceSum, -1)
		ok := LessOrEqual(mass, limit)
		lo, hi = Where(ok, mid, lo), Where(ok, hi, mid)
	}
	return ConvertDType(Max(lo, Const(g, int64(math.MinInt32))), dtypes.Int32)
}

// midpoint is lo + (hi − lo)/2 for int64 [R,1] bounds with hi − lo ≥ 2 (floor).
func midpoint(lo, hi *Node) *Node {
	return Add(lo, Div(Sub(hi, lo), Const(lo.Graph(), int64(2))))
}
