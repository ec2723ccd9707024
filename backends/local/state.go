package local

import (
	"github.com/gomlx/gomlx/core/tensors"
)

// decodeState is the device-side state of a batch being decoded, as graph nodes (inside graphs)
// or tensors (between calls). R rows (= unique prompts × N), S cache slots, T = max tokens.
// Every field stays on the device between calls; the host reads only the scalars Step and Active
// at the end of a segment and the outputs at the end of the batch.
type decodeState[T any] struct {
	Cache   []T // k0, v0, k1, v1, ... [R,KV,S,hd] in the compute dtype (model.NewCache's order)
	Mask    T   // [R,S] int32: slot holds a real token
	Tok     T   // [R] int32: the last sampled token, fed at the next step
	Pos     T   // [R] int32: its rotary position
	Done    T   // [R] bool: row finished (EOS, length, or a padding row)
	OutTok  T   // [R,T] int32: sampled tokens (pad after a row is done)
	OutLP   T   // [R,T] float32: their sampling log-probs (0 after done)
	WriteAt T   // int32 scalar: the cache slot the next step writes
	Step    T   // int32 scalar: tokens generated so far (the index of the next token)
	Active  T   // bool scalar: some row is not done (computed with Done, read by the loop condition)
	Seen    T   // [R,V] bool: tokens in prompt or completion (only with the repetition penalty)
}

// flatten lists the fields in a fixed order (Seen last, and only when present).
func (s decodeState[T]) flatten(withSeen bool) []T {
	out := append([]T(nil), s.Cache...)
	out = append(out, s.Mask, s.Tok, s.Pos, s.Done, s.OutTok, s.OutLP, s.WriteAt, s.Step, s.Active)
	if withSeen {
		out = append(out, s.Seen)
	}
	return out
}

// numFields is the length of flatten's result.
func numFields(cacheTensors int, withSeen bool) int {
	if withSeen {
		return cacheTensors + 10
	}
	return cacheTensors + 9
}

// unflatten is the inverse of flatten.
func unflatten[T any](xs []T, cacheTensors int, withSeen bool) decodeState[T] {
	c := cacheTensors
	s := decodeState[T]{Cache: append([]T(nil), xs[:c]...)}
	s.Mask, s.Tok, s.Pos, s.Done, s.OutTok, s.OutLP, s.WriteAt, s.Step, s.Active = xs[c], xs[c+1], xs[c+2], xs[c+3], xs[c+4], xs[c+5], xs[c+6], xs[c+7], xs[c+8]
	if withSeen {
		s.Seen = xs[c+9]
	}
	return s
}

// release frees the device memory of a host-side state's tensors now instead of at garbage
// collection (a KV cache is large).
func release(ts []*tensors.Tensor) {
	for _, t := range ts {
		if t != nil && t.Ok() {
			t.FinalizeAll()
		}
	}
}
