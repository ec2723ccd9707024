package train

import (
	"math"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gm "github.com/gomlx/gomlx/ml/model"

	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/model"
)

func TestTokenizeSFT(t *testing.T) {
	enc := byteEncoder{merge: map[string]int32{"xy": 200}}
	ex := []data.SFTExample{
		{Prompt: "ab", Completion: "cd", AddEOS: true},       // plain: EOS appended
		{Prompt: "ax", Completion: "yb"},                     // "xy" merges across the boundary
		{Prompt: "abcdefgh", Completion: "ij", AddEOS: true}, // cut by maxLen 8: nothing left to train
	}
	seqs, err := tokenizeSFT(enc, 2, ex, true, 8)
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 2 {
		t.Fatalf("%d sequences, want 2 (the truncated one dropped)", len(seqs))
	}
	if want := []int32{'a', 'b', 'c', 'd', 2}; !slices.Equal(seqs[0].ids, want) {
		t.Fatalf("ids %v, want %v", seqs[0].ids, want)
	}
	if want := []bool{false, false, true, true, true}; !slices.Equal(seqs[0].target, want) {
		t.Fatalf("targets %v, want the completion and EOS", seqs[0].target)
	}
	// "axyb" → a, 200, b: the merged token straddles the boundary and counts as completion.
	if want := []int32{'a', 200, 'b'}; !slices.Equal(seqs[1].ids, want) {
		t.Fatalf("ids %v, want %v", seqs[1].ids, want)
	}
	if want := []bool{false, true, true}; !slices.Equal(seqs[1].target, want) {
		t.Fatalf("targets %v, want %v", seqs[1].target, want)
	}
	// Without completion_only_training every token but the first is a target.
	all, err := tokenizeSFT(enc, 2, ex[:1], false, 8)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, true, true, true, true}; !slices.Equal(all[0].target, want) {
		t.Fatalf("all-token targets %v", all[0].target)
	}
	if _, err := tokenizeSFT(enc, -1, ex[:1], true, 8); err == nil {
		t.Fatal("plain-text example without an EOS token accepted")
	}
}

func TestPackSequences(t *testing.T) {
	seqs := []sftSeq{
		{ids: []int32{1, 2, 3}, target: []bool{false, true, true}},
		{ids: []int32{4, 5, 6, 7, 8}, target: []bool{false, false, true, true, true}},
	}
	rows := packSequences(seqs, 4, 1)
	var ids []int32
	var targets int
	for i, r := range rows {
		if i < len(rows)-1 && len(r.ids) != 4 {
			t.Fatalf("row %d has %d tokens, want 4", i, len(r.ids))
		}
		if r.target[0] {
			t.Fatalf("row %d: its first token cannot be a target", i)
		}
		ids = append(ids, r.ids...)
		for _, b := range r.target {
			if b {
				targets++
			}
		}
	}
	if len(ids) != 8 || len(rows) != 2 {
		t.Fatalf("packed %v into %d rows", ids, len(rows))
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []int32{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("packing lost or duplicated tokens: %v", ids)
	}
	if targets < 4 || targets > 5 {
		t.Fatalf("%d targets after packing, want the 5 targets less at most the one at the row start", targets)
	}
}

func TestLengthBuckets(t *testing.T) {
	if got := lengthBuckets(128); !slices.Equal(got, []int{16, 24, 32, 48, 64, 96, 128}) {
		t.Fatalf("buckets %v", got)
	}
	if got := lengthBuckets(10); !slices.Equal(got, []int{10}) {
		t.Fatalf("buckets %v", got)
	}
	b := lengthBuckets(100)
	for n, want := range map[int]int{1: 16, 16: 16, 17: 24, 65: 96, 99: 100, 100: 100} {
		if got := bucketFor(b, n); got != want {
			t.Fatalf("bucketFor(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestSFTLossMatchesReference compares the task's loss graph with the cross-entropy computed in
// float64 from the model's full logits: −Σ_w log softmax(z)[target] / N over the weighted
// positions, N given (here the batch's own target count, and a larger step total).
func TestSFTLossMatchesReference(t *testing.T) {
	m := loadTiny(t)
	for _, completionOnly := range []bool{true, false} {
		cfg := sftConfig(t, t.TempDir())
		cfg.CompletionOnlyTraining = completionOnly
		task, err := NewSFT(cfg, m, byteEncoder{}, 2, 0, examples(3))
		if err != nil {
			t.Fatal(err)
		}
		b := makeBatch(task.seqs, 4, task.buckets, 0) // 3 sequences and one empty row
		e, err := gm.NewExec(m.Backend(), m.Store, func(scope *gm.Scope, in []*Node) []*Node {
			l, _ := task.Loss(scope, in)
			return []*Node{l}
		})
		if err != nil {
			t.Fatal(err)
		}
		logits, err := m.ComputeLogits(model.Batch{Tokens: b.tokens, Positions: b.positions, Mask: b.mask})
		if err != nil {
			t.Fatal(err)
		}
		z := tensors.MustCopyFlatData[float32](logits)
		v := m.Config.VocabSize
		var sum float64
		var count int
		for r := range b.tokens {
			for j := range b.tokens[r] {
				if b.weights[r][j] == 0 {
					continue
				}
				row := z[(r*len(b.tokens[r])+j)*v : (r*len(b.tokens[r])+j+1)*v]
				mx := math.Inf(-1)
				for _, x := range row {
					mx = math.Max(mx, float64(x))
				}
				var s float64
				for _, x := range row {
					s += math.Exp(float64(x) - mx)
				}
				sum += float64(row[b.targets[r][j]]) - mx - math.Log(s)
				count++
			}
		}
		if count != b.targetCount || count == 0 {
			t.Fatalf("reference counted %d targets, batch %d", count, b.targetCount)
		}
		for _, total := range []float64{float64(count), 3 * float64(count)} {
			out, err := e.Exec(b.tokens, b.positions, b.mask, b.targets, b.weights, float32(total))
			if err != nil {
				t.Fatal(err)
			}
			got := float64(out[0].Value().(float32))
			want := -sum / total
			if math.Abs(got-want) > 1e-5*math.Abs(want) {
				t.Fatalf("completion_only=%v, N=%g: loss %.7f, reference %.7f", completionOnly, total, got, want)
			}
		}
	}
}

// TestAccumulationMatchesOneBatch: one optimizer step over the same 4 sequences as 1×4, 2×2
// and 4×1 micro-batches must log the same loss (the step's token mean) and the same gradient
// norm — a wrong normalisation (mean of micro-batch means, or a missing 1/N) changes both.
func TestAccumulationMatchesOneBatch(t *testing.T) {
	var ref map[string]float64
	for _, geo := range [][2]int{{4, 1}, {2, 2}, {1, 4}} {
		cfg := sftConfig(t, t.TempDir())
		cfg.PerDeviceTrainBatchSize, cfg.GradientAccumulationSteps = geo[0], geo[1]
		cfg.MaxSteps = 1
		cfg.SaveStrategy = "no"
		cfg.SaveFinalModel = false
		rows := runSFT(t, cfg, examples(4))
		got := rows[0]
		if ref == nil {
			ref = got
			continue
		}
		for _, k := range []string{"loss", "grad_norm", "num_input_tokens_seen"} {
			if math.Abs(got[k]-ref[k]) > 1e-5*math.Abs(ref[k]) {
				t.Fatalf("%d×%d micro-batches: %s = %.7g, 4×1 gave %.7g", geo[0], geo[1], k, got[k], ref[k])
			}
		}
	}
}
