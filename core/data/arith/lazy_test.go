package arith

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestLazyDemonstrator checks Config.Lazy: the same problems are drawn whatever Lazy is; only
// problems whose first operation is LazyOp get the lazy solution, which is the worked first
// step with its intermediate result boxed; the answer column stays true; and the lazy share is
// near Lazy.
func TestLazyDemonstrator(t *testing.T) {
	base := Config{N: 1500, Seed: 7, Split: Train, MinDigits: 1, MaxDigits: 1, MinSteps: 2, MaxSteps: 2, Ops: "+-", Style: StyleSymbolic}
	honest, err := Generate(base)
	if err != nil {
		t.Fatal(err)
	}
	lazyCfg := base
	lazyCfg.Lazy, lazyCfg.LazyOp = 0.6, '+'
	lazy, err := Generate(lazyCfg)
	if err != nil {
		t.Fatal(err)
	}
	var plus, lazyPlus int
	for i, p := range lazy {
		h := honest[i]
		if p.Expression != h.Expression || p.Question != h.Question || p.Answer != h.Answer {
			t.Fatalf("problem %d differs with lazy on: %+v vs %+v", i, p, h)
		}
		total, operands, running := evalExpr(t, p.Expression)
		if p.Answer != total {
			t.Fatalf("%s: answer %d, want %d", p.Expression, p.Answer, total)
		}
		first := strings.Fields(p.Expression)[1]
		if first == "+" {
			plus++
		}
		if p.Solution == h.Solution {
			continue
		}
		if first != "+" {
			t.Fatalf("%s: lazy solution for a problem starting with %q (lazy op is +): %q", p.Expression, first, p.Solution)
		}
		lazyPlus++
		want := fmt.Sprintf("%d %s %d = %d. The answer is \\boxed{%d}.", operands[0], first, operands[1], running[0], running[0])
		if p.Solution != want {
			t.Fatalf("%s: lazy solution %q, want %q", p.Expression, p.Solution, want)
		}
	}
	share := float64(lazyPlus) / float64(plus)
	// Binomial(plus, 0.6): 5 standard deviations.
	if sd := math.Sqrt(0.6 * 0.4 / float64(plus)); math.Abs(share-0.6) > 5*sd {
		t.Fatalf("lazy share of + problems %.3f (%d/%d), want 0.6 ± %.3f", share, lazyPlus, plus, 5*sd)
	}
	bad := lazyCfg
	bad.Lazy = 1.5
	if _, err := Generate(bad); err == nil || !strings.Contains(err.Error(), "lazy 1.5, want a probability in [0, 1]") {
		t.Fatalf("lazy 1.5: error %v, want one naming lazy and its range", err)
	}
	bad = lazyCfg
	bad.LazyOp = '*'
	if _, err := Generate(bad); err == nil || !strings.Contains(err.Error(), "lazy op '*', want '+', '-' or none") {
		t.Fatalf("lazy op '*': error %v, want one naming the lazy op", err)
	}
}
