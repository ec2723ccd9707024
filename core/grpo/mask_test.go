package grpo

import (
	"slices"
	"strings"
	"testing"
)

func TestBuildCompletions(t *testing.T) {
	const eos, eot, pad = 2, 3, 0
	rows := [][]int32{
		{5, 6, eos, 7, 8}, // EOS mid-row: tokens after it are dropped
		{5, 6, 7, 8},      // no EOS, full width: truncated
		{eot},             // second EOS id at the first position
		{},                // empty completion
		{9, pad},          // ends with the pad id: not truncated (TRL's eos_and_pad)
		{9, 9},            // short, no EOS: truncated (stopped by the generator's length limit)
	}
	for _, maskTruncated := range []bool{false, true} {
		c, err := BuildCompletions(rows, CompletionsConfig{Width: 4, EOS: []int32{eos, eot}, Pad: pad, MaskTruncated: maskTruncated})
		if err != nil {
			t.Fatal(err)
		}
		wantIDs := []int32{
			5, 6, eos, pad,
			5, 6, 7, 8,
			eot, pad, pad, pad,
			pad, pad, pad, pad,
			9, pad, pad, pad,
			9, 9, pad, pad,
		}
		keepTrunc := float32(1)
		if maskTruncated {
			keepTrunc = 0
		}
		k := keepTrunc
		wantMask := []float32{
			1, 1, 1, 0,
			k, k, k, k,
			1, 0, 0, 0,
			0, 0, 0, 0,
			1, 1, 0, 0,
			k, k, 0, 0,
		}
		if !slices.Equal(c.IDs, wantIDs) {
			t.Fatalf("maskTruncated=%v: ids %v, want %v", maskTruncated, c.IDs, wantIDs)
		}
		if !slices.Equal(c.Mask, wantMask) {
			t.Fatalf("maskTruncated=%v: mask %v, want %v", maskTruncated, c.Mask, wantMask)
		}
		if want := []int{3, 4, 1, 0, 2, 2}; !slices.Equal(c.Lengths, want) {
			t.Fatalf("lengths %v, want %v", c.Lengths, want)
		}
		if want := []bool{false, true, false, false, false, true}; !slices.Equal(c.Truncated, want) {
			t.Fatalf("truncated %v, want %v", c.Truncated, want)
		}
		wantActive := 3 + 1 + 2
		if !maskTruncated {
			wantActive += 4 + 2
		}
		if got := c.ActiveTokens(); got != wantActive {
			t.Fatalf("active tokens %d, want %d", got, wantActive)
		}
	}
}

func TestBuildCompletionsErrors(t *testing.T) {
	_, err := BuildCompletions([][]int32{{1, 2}, {1, 2, 3, 4, 5}}, CompletionsConfig{Width: 4, EOS: []int32{9}})
	if err == nil || !strings.Contains(err.Error(), "completion 1") {
		t.Fatalf("row longer than width: got %v, want an error naming completion 1", err)
	}
	if _, err := BuildCompletions(nil, CompletionsConfig{Width: 4}); err == nil || !strings.Contains(err.Error(), "EOS") {
		t.Fatalf("no EOS ids: got %v", err)
	}
	if _, err := BuildCompletions(nil, CompletionsConfig{EOS: []int32{1}}); err == nil || !strings.Contains(err.Error(), "width") {
		t.Fatalf("zero width: got %v", err)
	}
}
