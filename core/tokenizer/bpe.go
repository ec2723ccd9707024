package tokenizer

import (
	"container/heap"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// bpeModel is HF tokenizers' BPE model (models/bpe/model.rs) for one pre-tokenized word:
// start from one symbol per character (per byte for byte-level files), then repeatedly apply
// the merge of lowest rank among adjacent symbol pairs, the leftmost one on ties, until no
// pair has a merge. Results are cached per word, as HF does.
type bpeModel struct {
	vocab  map[string]int32
	merges map[uint64]uint64 // pairKey(a, b) → rank<<32 | merged id

	byteLevel    bool
	byteIDs      [256]int32 // id of the vocabulary token for each byte, or -1
	unk          int32      // -1 when the model has no unk_token: unknown symbols are dropped
	fuseUnk      bool
	byteFallback bool
	prefix       string // continuing_subword_prefix
	suffix       string // end_of_word_suffix
	ignoreMerges bool

	cache wordCache
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

const noRank = ^uint32(0)

func buildBPE(m modelJSON, byteLevel bool) (*bpeModel, error) {
	if m.Type != "" && m.Type != "BPE" {
		return nil, fmt.Errorf("model.type %q is not supported (grpo reads BPE models: Qwen2, "+
			"Qwen3, Llama-3, GPT-2)", m.Type)
	}
	if len(m.Vocab) == 0 {
		return nil, fmt.Errorf("model.vocab is missing or empty")
	}
	if m.Dropout != nil && *m.Dropout > 0 {
		return nil, fmt.Errorf("model.dropout is %v: BPE dropout is a training-time "+
			"augmentation, set it to null for inference", *m.Dropout)
	}
	b := &bpeModel{
		vocab:        m.Vocab,
		merges:       make(map[uint64]uint64, len(m.Merges)),
		byteLevel:    byteLevel,
		unk:          -1,
		fuseUnk:      m.FuseUnk,
		byteFallback: m.ByteFallback,
		ignoreMerges: m.IgnoreMerges,
	}
	if m.ContinuingSubwordPrefix != nil {
		b.prefix = *m.ContinuingSubwordPrefix
	}
	if m.EndOfWordSuffix != nil {
		b.suffix = *m.EndOfWordSuffix
	}
	if m.UnkToken != nil {
		id, ok := m.Vocab[*m.UnkToken]
		if !ok {
			return nil, fmt.Errorf("model.unk_token %q is not in model.vocab", *m.UnkToken)
		}
		b.unk = id
	}
	for c := 0; c < 256; c++ {
		b.byteIDs[c] = -1
		if id, ok := m.Vocab[bytesChar.toRuneStr[c]]; ok {
			b.byteIDs[c] = id
		}
	}
	for rank, mg := range m.Merges {
		a, ok := m.Vocab[mg[0]]
		if !ok {
			return nil, fmt.Errorf("model.merges[%d] %q: %q is not in model.vocab", rank, mg, mg[0])
		}
		c, ok := m.Vocab[mg[1]]
		if !ok {
			return nil, fmt.Errorf("model.merges[%d] %q: %q is not in model.vocab", rank, mg, mg[1])
		}
		if len(mg[1]) < len(b.prefix) {
			return nil, fmt.Errorf("model.merges[%d] %q: %q is shorter than "+
				"continuing_subword_prefix %q", rank, mg, mg[1], b.prefix)
		}
		merged := mg[0] + mg[1][len(b.prefix):]
		id, ok := m.Vocab[merged]
		if !ok {
			return nil, fmt.Errorf("model.merges[%d] %q: the merged token %q is not in "+
				"model.vocab", rank, mg, merged)
		}
		b.merges[pairKey(a, c)] = uint64(rank)<<32 | uint64(uint32(id))
	}
	return b, nil
}

// encodeWord appends the ids of one pre-tokenized word (raw, before byte-level mapping).
func (b *bpeModel) encodeWord(dst []int32, w string) []int32 {
	if ids, ok := b.cache.get(w); ok {
		return append(dst, ids...)
	}
	var ids []int32
	if b.ignoreMerges {
		// Llama-3: a word that is itself a vocabulary token is emitted whole.
		if id, ok := b.vocab[b.modelString(w)]; ok {
			ids = []int32{id}
		}
	}
	if ids == nil {
		ids = b.merge(b.symbols(w))
	}
	if len(w) < maxCachedWordLen {
		b.cache.put(w, ids)
	}
	return append(dst, ids...)
}

// modelString is w as the vocabulary spells it.
func (b *bpeModel) modelString(w string) string {
	if b.byteLevel {
		return bytesChar.encode(w)
	}
	return w
}

// symbols returns the initial symbols of w (HF BPE::merge_word before merge_all).
func (b *bpeModel) symbols(w string) []int32 {
	syms := make([]int32, 0, len(w))
	if b.byteLevel && b.prefix == "" && b.suffix == "" && !b.byteFallback {
		// One symbol per byte; the byte's rune token id is precomputed.
		unk := unkRun{b: b}
		for i := 0; i < len(w); i++ {
			if id := b.byteIDs[w[i]]; id >= 0 {
				syms = unk.flush(syms)
				syms = append(syms, id)
			} else {
				syms = unk.add(syms)
			}
		}
		return unk.flush(syms)
	}
	s := b.modelString(w)
	unk := unkRun{b: b}
	for i, r := range s {
		sym := s[i : i+utf8.RuneLen(r)]
		if i > 0 {
			sym = b.prefix + sym
		}
		if i+utf8.RuneLen(r) == len(s) {
			sym += b.suffix
		}
		if id, ok := b.vocab[sym]; ok {
			syms = unk.flush(syms)
			syms = append(syms, id)
			continue
		}
		if b.byteFallback {
			ok := true
			fb := make([]int32, 0, 4)
			for j := 0; j < len(sym); j++ {
				id, found := b.vocab[fmt.Sprintf("<0x%02X>", sym[j])]
				if !found {
					ok = false
					break
				}
				fb = append(fb, id)
			}
			if ok {
				syms = append(syms, fb...)
				continue
			}
		}
		syms = unk.add(syms)
	}
	return unk.flush(syms)
}

// unkRun tracks unknown symbols: each becomes unk_token, consecutive ones fused into one when
// fuse_unk is set; without an unk_token they are dropped (HF behaviour).
type unkRun struct {
	b       *bpeModel
	pending bool
}

func (u *unkRun) add(syms []int32) []int32 {
	if u.b.unk < 0 {
		return syms
	}
	if u.pending && !u.b.fuseUnk {
		syms = append(syms, u.b.unk)
	}
	u.pending = true
	return syms
}

func (u *unkRun) flush(syms []int32) []int32 {
	if u.pending {
		syms = append(syms, u.b.unk)
		u.pending = false
	}
	return syms
}

func (b *bpeModel) lookup(a, c int32) (rank uint32, id int32) {
	v, ok := b.merges[pairKey(a, c)]
	if !ok {
		return noRank, -1
	}
	return uint32(v >> 32), int32(uint32(v))
}

// heapThreshold is the word length above which merging uses a priority queue; below it a
// linear scan for the best pair is faster.
const heapThreshold = 128

// merge applies the merges to syms in place and returns the merged symbols.
func (b *bpeModel) merge(syms []int32) []int32 {
	if len(syms) < 2 {
		return syms
	}
	if len(syms) > heapThreshold {
		return b.mergeHeap(syms)
	}
	return b.mergeScan(syms)
}

// mergeScan finds the best pair by a linear scan of the pair ranks, updating only the two
// ranks next to each merge. It gives the same result as mergeHeap (merges_test.go checks).
func (b *bpeModel) mergeScan(syms []int32) []int32 {
	if len(syms) < 2 {
		return syms
	}
	var buf [heapThreshold]uint32
	if len(syms)-1 > len(buf) {
		return b.mergeHeap(syms)
	}
	ranks := buf[:len(syms)-1]
	for i := range ranks {
		ranks[i], _ = b.lookup(syms[i], syms[i+1])
	}
	for {
		best, bi := noRank, -1
		for i, r := range ranks {
			if r < best {
				best, bi = r, i
			}
		}
		if bi < 0 {
			return syms
		}
		_, id := b.lookup(syms[bi], syms[bi+1])
		syms[bi] = id
		syms = append(syms[:bi+1], syms[bi+2:]...)
		ranks = append(ranks[:bi], ranks[bi+1:]...)
		if bi > 0 {
			ranks[bi-1], _ = b.lookup(syms[bi-1], syms[bi])
		}
		if bi < len(ranks) {
			ranks[bi], _ = b.lookup(syms[bi], syms[bi+1])
		}
	}
}

// mergeHeap is HF's Word::merge_all (models/bpe/word.rs): a min-queue of (rank, position),
// symbols in a linked list, stale queue entries skipped when popped.
func (b *bpeModel) mergeHeap(syms []int32) []int32 {
	n := len(syms)
	prev := make([]int, n)
	next := make([]int, n)
	alive := make([]bool, n)
	for i := range syms {
		prev[i], next[i], alive[i] = i-1, i+1, true
	}
	next[n-1] = -1
	q := &mergeQueue{}
	for i := 0; i+1 < n; i++ {
		if r, id := b.lookup(syms[i], syms[i+1]); r != noRank {
			q.items = append(q.items, mergeItem{rank: r, pos: i, id: id})
		}
	}
	heap.Init(q)
	for q.Len() > 0 {
		top := heap.Pop(q).(mergeItem)
		if !alive[top.pos] || next[top.pos] < 0 {
			continue
		}
		right := next[top.pos]
		if _, id := b.lookup(syms[top.pos], syms[right]); id != top.id {
			continue // expired: one of the two symbols changed since this entry was queued
		}
		syms[top.pos] = top.id
		alive[right] = false
		next[top.pos] = next[right]
		if next[right] >= 0 {
			prev[next[right]] = top.pos
		}
		if p := prev[top.pos]; p >= 0 {
			if r, id := b.lookup(syms[p], syms[top.pos]); r != noRank {
				heap.Push(q, mergeItem{rank: r, pos: p, id: id})
			}
		}
		if nx := next[top.pos]; nx >= 0 {
			if r, id := b.lookup(syms[top.pos], syms[nx]); r != noRank {
				heap.Push(q, mergeItem{rank: r, pos: top.pos, id: id})
			}
		}
	}
	out := syms[:0]
	for i := 0; i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}

type mergeItem struct {
	rank uint32
	pos  int
	id   int32
}

type mergeQueue struct{ items []mergeItem }

func (q *mergeQueue) Len() int { return len(q.items) }
func (q *mergeQueue) Less(i, j int) bool {
	a, c := q.items[i], q.items[j]
	return a.rank < c.rank || (a.rank == c.rank && a.pos < c.pos)
}
func (q *mergeQueue) Swap(i, j int) { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *mergeQueue) Push(x any)    { q.items = append(q.items, x.(mergeItem)) }
func (q *mergeQueue) Pop() any {
	x := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return x
}

// Cache bounds, as HF's (utils/cache.rs DEFAULT_CACHE_CAPACITY, MAX_LENGTH).
const (
	maxCachedWords   = 10000
	maxCachedWordLen = 256
)

// wordCache maps a word to its ids; safe for concurrent use with lock-free reads (sync.Map).
// When full it is emptied, so a long training run keeps caching the words it currently sees.
type wordCache struct {
	m sync.Map // string → []int32
	n atomic.Int64
}

func (c *wordCache) get(w string) ([]int32, bool) {
	v, ok := c.m.Load(w)
	if !ok {
		return nil, false
	}
	return v.([]int32), true
}

func (c *wordCache) put(w string, ids []int32) {
	if c.n.Add(1) > maxCachedWords {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(strings.Clone(w), ids)
}
