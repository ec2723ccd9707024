package data

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// rltStream is RepeatRandomSampler.__iter__ (RLT trainers/grpo.py:122-145) written out for the
// test: cut order into chunks of k, drop an incomplete one, then per chunk repeat_count times
// each index mini_repeat_count times.
func rltStream(order []int, k, repeatCount, miniRepeat int) []int {
	var out []int
	for i := 0; i+k <= len(order); i += k {
		chunk := order[i : i+k]
		for range repeatCount {
			for _, idx := range chunk {
				for range miniRepeat {
					out = append(out, idx)
				}
			}
		}
	}
	return out
}

// passOrder recovers the pass's prompt order from its copy-0 micro-batches.
func passOrder(mbs []MicroBatch, g int) []int {
	var order []int
	for _, mb := range mbs {
		if mb.Copy == 0 {
			for j := 0; j < len(mb.Indices); j += g {
				order = append(order, mb.Indices[j])
			}
		}
	}
	return order
}

func isPermutation(xs []int, n int) bool {
	s := slices.Clone(xs)
	slices.Sort(s)
	for i := range n {
		if i >= len(s) || s[i] != i {
			return false
		}
	}
	return len(s) == n
}

func TestRepeatSamplerLayoutMatchesRLT(t *testing.T) {
	cases := []struct {
		name                string
		cfg                 SamplerConfig
		k, perPass, dropped int
	}{
		// b=2, P=1, S=2, G=2: global batch 4, K = 2·1·2/2 = 2; 6 rows → 3 chunks × 2 copies.
		{"even", SamplerConfig{NumRows: 6, NumGenerations: 2, PerDeviceBatchSize: 2, GenerationAggregationSteps: 2, Seed: 1}, 2, 6, 0},
		// 7 rows, K=2: the 7th prompt of the permutation is dropped each pass.
		{"drop", SamplerConfig{NumRows: 7, NumGenerations: 2, PerDeviceBatchSize: 2, GenerationAggregationSteps: 2, Seed: 2}, 2, 6, 1},
		// two artificial epochs of 7 rows: 14 = 7 chunks, chunk 3 spans the epoch boundary.
		{"epochs", SamplerConfig{NumRows: 7, NumGenerations: 2, PerDeviceBatchSize: 2, GenerationAggregationSteps: 2, ArtificialEpochs: 2, Seed: 3}, 2, 14, 0},
		// b=3, P=2, S=1, G=3: global 6, K = 2; 5 rows → 2 chunks, 1 dropped.
		{"procs", SamplerConfig{NumRows: 5, NumGenerations: 3, PerDeviceBatchSize: 3, NumProcesses: 2, Seed: 4}, 2, 2, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewRepeatSampler(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if s.PromptsPerChunk() != c.k || s.MicroBatchesPerPass() != c.perPass {
				t.Fatalf("K = %d, per pass = %d; want %d, %d", s.PromptsPerChunk(), s.MicroBatchesPerPass(), c.k, c.perPass)
			}
			g, copies := c.cfg.NumGenerations, max(c.cfg.GenerationAggregationSteps, 1)
			epochs := max(c.cfg.ArtificialEpochs, 1)
			for pass := range 3 {
				var mbs []MicroBatch
				var stream []int
				for range c.perPass {
					mb := s.Next()
					if mb.Pass != pass {
						t.Fatalf("micro-batch of pass %d reports pass %d", pass, mb.Pass)
					}
					if len(mb.Indices) != c.cfg.PerDeviceBatchSize*max(c.cfg.NumProcesses, 1)*copies {
						t.Fatalf("micro-batch has %d rows", len(mb.Indices))
					}
					mbs = append(mbs, mb)
					stream = append(stream, mb.Indices...)
				}
				order := passOrder(mbs, g)
				if want := rltStream(order, c.k, copies, g); !reflect.DeepEqual(stream, want) {
					t.Fatalf("pass %d stream\n%v\nwant (RLT __iter__ on order %v)\n%v", pass, stream, order, want)
				}
				// The order is epochs permutations of the rows, minus the dropped tail.
				if len(order) != c.cfg.NumRows*epochs-c.dropped {
					t.Fatalf("pass %d uses %d prompts, want %d", pass, len(order), c.cfg.NumRows*epochs-c.dropped)
				}
				for e := range epochs {
					seg := order[e*c.cfg.NumRows : min((e+1)*c.cfg.NumRows, len(order))]
					if c.dropped == 0 && !isPermutation(seg, c.cfg.NumRows) {
						t.Errorf("pass %d epoch %d order %v is not a permutation", pass, e, seg)
					}
					if c.dropped > 0 && len(slices.Compact(slices.Sorted(slices.Values(seg)))) != len(seg) {
						t.Errorf("pass %d epoch %d repeats a prompt: %v", pass, e, seg)
					}
				}
			}
		})
	}
}

// TestRepeatSamplerRLTShippedGeometry checks the numbers of rlt.md §2.1 for the shipped run:
// b=1, S=256, G=64 on 4 training processes → 16 questions × 64 samples = 1024 completions per
// round, and process r serves rows [256r, 256r+256): 4 questions × 64.
func TestRepeatSamplerRLTShippedGeometry(t *testing.T) {
	s, err := NewRepeatSampler(SamplerConfig{NumRows: 100, NumGenerations: 64, PerDeviceBatchSize: 1, NumProcesses: 4, GenerationAggregationSteps: 256, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	if s.PromptsPerChunk() != 16 {
		t.Fatalf("K = %d, want 16", s.PromptsPerChunk())
	}
	if s.MicroBatchesPerPass() != 6*256 { // ⌊100/16⌋ = 6 rounds of 256 micro-steps
		t.Fatalf("per pass = %d, want %d", s.MicroBatchesPerPass(), 6*256)
	}
	first := s.Next()
	if len(first.Indices) != 1024 || first.Copy != 0 {
		t.Fatalf("first micro-batch: %d rows, copy %d", len(first.Indices), first.Copy)
	}
	for r := range 4 {
		shard := first.Shard(r, 4)
		if len(shard) != 256 {
			t.Fatalf("shard %d has %d rows", r, len(shard))
		}
		for q := range 4 { // 4 contiguous groups of 64 identical rows
			for j := 1; j < 64; j++ {
				if shard[q*64+j] != shard[q*64] {
					t.Fatalf("shard %d group %d is not contiguous", r, q)
				}
			}
		}
	}
	for c := 1; c < 256; c++ {
		mb := s.Next()
		if mb.Chunk != 0 || mb.Copy != c || !slices.Equal(mb.Indices, first.Indices) {
			t.Fatalf("copy %d of chunk 0 differs (chunk %d copy %d)", c, mb.Chunk, mb.Copy)
		}
	}
	if mb := s.Next(); mb.Chunk != 1 || mb.Copy != 0 || slices.Equal(mb.Indices, first.Indices) {
		t.Fatalf("after 256 copies the next chunk should start")
	}
}

func TestRepeatSamplerSeedsAndPasses(t *testing.T) {
	cfg := SamplerConfig{NumRows: 20, NumGenerations: 4, PerDeviceBatchSize: 8, Seed: 7}
	a, _ := NewRepeatSampler(cfg)
	b, _ := NewRepeatSampler(cfg)
	cfg.Seed = 8
	c, _ := NewRepeatSampler(cfg)
	var sa, sb, sc []int
	for range 2 * a.MicroBatchesPerPass() {
		sa = append(sa, a.Next().Indices...)
		sb = append(sb, b.Next().Indices...)
		sc = append(sc, c.Next().Indices...)
	}
	if !slices.Equal(sa, sb) {
		t.Error("same seed gave different streams")
	}
	if slices.Equal(sa, sc) {
		t.Error("different seeds gave the same stream")
	}
	half := len(sa) / 2
	if slices.Equal(sa[:half], sa[half:]) {
		t.Error("the second pass repeats the first pass's order; each pass needs fresh permutations")
	}
}

func TestRepeatSamplerResumeIsExact(t *testing.T) {
	cfg := SamplerConfig{NumRows: 9, NumGenerations: 2, PerDeviceBatchSize: 2, GenerationAggregationSteps: 3, ArtificialEpochs: 2, Seed: 11}
	for _, stop := range []int{0, 1, 5, 26, 27, 28, 60} { // 27 per pass: stops around the boundary
		orig, _ := NewRepeatSampler(cfg)
		for range stop {
			orig.Next()
		}
		state := orig.State()
		resumed, _ := NewRepeatSampler(cfg)
		if err := resumed.Restore(state); err != nil {
			t.Fatal(err)
		}
		for i := range 40 {
			want, got := orig.Next(), resumed.Next()
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("stop %d, step %d after resume: got %+v, want %+v", stop, i, got, want)
			}
		}
	}
}

func TestRepeatSamplerRestoreRefusesOtherGeometry(t *testing.T) {
	cfg := SamplerConfig{NumRows: 9, NumGenerations: 2, PerDeviceBatchSize: 2, Seed: 1}
	s, _ := NewRepeatSampler(cfg)
	s.Next()
	state := s.State()
	for key, mutate := range map[string]func(*SamplerConfig){
		"num_generations = 2": func(c *SamplerConfig) { c.NumGenerations = 4; c.PerDeviceBatchSize = 4 },
		"dataset rows = 9":    func(c *SamplerConfig) { c.NumRows = 10 },
		"seed = 1":            func(c *SamplerConfig) { c.Seed = 2 },
		"artificial_epochs":   func(c *SamplerConfig) { c.ArtificialEpochs = 3 },
	} {
		c := cfg
		mutate(&c)
		other, err := NewRepeatSampler(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := other.Restore(state); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: Restore error = %v", key, err)
		}
	}
	if err := s.Restore([]byte(`{"version": 2}`)); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("version error = %v", err)
	}
	if err := s.Restore([]byte(`nope`)); err == nil {
		t.Error("garbage state accepted")
	}
}

func TestRepeatSamplerConfigErrors(t *testing.T) {
	for want, cfg := range map[string]SamplerConfig{
		"want ≥ 2":         {NumRows: 10, NumGenerations: 1, PerDeviceBatchSize: 4},
		"does not divide":  {NumRows: 10, NumGenerations: 3, PerDeviceBatchSize: 4},
		"fewer than the 4": {NumRows: 3, NumGenerations: 2, PerDeviceBatchSize: 8},
		"empty":            {NumRows: 0, NumGenerations: 2, PerDeviceBatchSize: 2},
		"per_device_train": {NumRows: 4, NumGenerations: 2},
	} {
		if _, err := NewRepeatSampler(cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: error %v, want %q", cfg, err, want)
		}
	}
	// num_generations 0 means the whole global batch (RLT num_generations=None): K = 1.
	s, err := NewRepeatSampler(SamplerConfig{NumRows: 3, PerDeviceBatchSize: 2, GenerationAggregationSteps: 2})
	if err != nil || s.NumGenerations() != 4 || s.PromptsPerChunk() != 1 {
		t.Errorf("G=0: %v, G=%d K=%d", err, s.NumGenerations(), s.PromptsPerChunk())
	}
}

func TestShuffleRoundTrip(t *testing.T) {
	prompts := []string{"a", "b", "c", "d", "e", "f", "g"}
	sh := NewShuffle(len(prompts), 3, 10)
	if !isPermutation(sh.Perm, len(prompts)) {
		t.Fatalf("perm %v", sh.Perm)
	}
	for j, pos := range sh.Inverse {
		if sh.Perm[pos] != j {
			t.Fatalf("Inverse is not the inverse of Perm")
		}
	}
	shuffled := Shuffled(sh, prompts)
	// "Generate" in shuffled order, then restore as RLT does (grpo.py:993-999):
	// ordered[original] = completion[shuffled_index] for shuffled_index, original in enumerate(indices).
	completions := make([]string, len(shuffled))
	for i, p := range shuffled {
		completions[i] = p + "!"
	}
	want := make([]string, len(prompts))
	for si, orig := range sh.Perm {
		want[orig] = completions[si]
	}
	got := Unshuffled(sh, completions)
	if !slices.Equal(got, want) {
		t.Fatalf("Unshuffled = %v, want %v", got, want)
	}
	for i := range prompts {
		if got[i] != prompts[i]+"!" {
			t.Fatalf("completion %d = %q belongs to another prompt", i, got[i])
		}
	}
	if !slices.Equal(NewShuffle(7, 3, 10).Perm, sh.Perm) || slices.Equal(NewShuffle(7, 3, 11).Perm, sh.Perm) {
		t.Error("shuffle must be reproducible per (seed, round) and differ across rounds")
	}
}
