package arith

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// evalExpr evaluates "a op b op c" left to right — the reference the answers are checked with.
func evalExpr(t *testing.T, expr string) (total int, operands []int, running []int) {
	t.Helper()
	f := strings.Fields(expr)
	total, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatalf("expression %q: %v", expr, err)
	}
	operands = []int{total}
	for i := 1; i+1 < len(f); i += 2 {
		v, err := strconv.Atoi(f[i+1])
		if err != nil {
			t.Fatalf("expression %q: %v", expr, err)
		}
		operands = append(operands, v)
		switch f[i] {
		case "+":
			total += v
		case "-":
			total -= v
		default:
			t.Fatalf("expression %q: operator %q", expr, f[i])
		}
		running = append(running, total)
	}
	return total, operands, running
}

var stepRE = regexp.MustCompile(`(\d+) ([+-]) (\d+) = (\d+)\.`)

func TestProblemsAreCorrect(t *testing.T) {
	cfg := DefaultConfig()
	cfg.N, cfg.Seed, cfg.MaxDigits, cfg.MaxSteps = 3000, 1, 4, 3
	ps, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	steps := map[int]int{}
	digits := map[int]int{}
	for _, p := range ps {
		want, nums, running := evalExpr(t, p.Expression)
		if p.Answer != want {
			t.Fatalf("%q: answer %d, want %d", p.Expression, p.Answer, want)
		}
		if !strings.HasSuffix(p.Solution, fmt.Sprintf(`\boxed{%d}.`, want)) {
			t.Fatalf("solution %q does not end in \\boxed{%d}.", p.Solution, want)
		}
		// Every worked step is true arithmetic, and they chain to the answer.
		m := stepRE.FindAllStringSubmatch(p.Solution, -1)
		if len(m) != len(running) {
			t.Fatalf("solution %q has %d steps, expression %q has %d", p.Solution, len(m), p.Expression, len(running))
		}
		for i, s := range m {
			a, _ := strconv.Atoi(s[1])
			b, _ := strconv.Atoi(s[3])
			c, _ := strconv.Atoi(s[4])
			if (s[2] == "+" && a+b != c) || (s[2] == "-" && a-b != c) || c != running[i] {
				t.Fatalf("wrong step %q in %q", s[0], p.Solution)
			}
		}
		for _, r := range running {
			if r < 0 {
				t.Fatalf("%q goes below zero", p.Expression)
			}
		}
		for _, n := range nums {
			d := len(strconv.Itoa(n))
			if n < 1 || d > 4 {
				t.Fatalf("%q: operand %d out of range", p.Expression, n)
			}
			digits[d]++
		}
		steps[len(running)]++
		// Every operand appears in the question, in order.
		rest := p.Question
		for _, n := range nums {
			i := strings.Index(rest, strconv.Itoa(n))
			if i < 0 {
				t.Fatalf("question %q lacks operand %d of %q", p.Question, n, p.Expression)
			}
			rest = rest[i+len(strconv.Itoa(n)):]
		}
	}
	for s := 1; s <= 3; s++ {
		if steps[s] < 500 {
			t.Errorf("only %d problems with %d steps: %v", steps[s], s, steps)
		}
	}
	for d := 1; d <= 4; d++ {
		if digits[d] < 500 {
			t.Errorf("only %d operands with %d digits: %v", digits[d], d, digits)
		}
	}
}

func TestTrainTestDisjointAndDistinct(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxDigits = 2
	cfg.N, cfg.Seed = 2000, 5
	train, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Split, cfg.N = Test, 300
	test, err := Generate(cfg) // same seed on purpose: the split alone must separate them
	if err != nil {
		t.Fatal(err)
	}
	inTrain := map[string]bool{}
	for _, p := range train {
		if inTrain[p.Expression] {
			t.Fatalf("train repeats %q", p.Expression)
		}
		inTrain[p.Expression] = true
		if SplitOf(p.Expression) != Train {
			t.Fatalf("train holds a test expression %q", p.Expression)
		}
	}
	for _, p := range test {
		if inTrain[p.Expression] {
			t.Fatalf("test problem %q is also in train", p.Expression)
		}
		if SplitOf(p.Expression) != Test {
			t.Fatalf("test holds a train expression %q", p.Expression)
		}
	}
}

// TestSplitShare checks the hash partition over a whole problem space: all one-step additions
// and subtractions of 1–2 digit numbers.
func TestSplitShare(t *testing.T) {
	total, inTest := 0, 0
	for a := 1; a < 100; a++ {
		for b := 1; b < 100; b++ {
			for _, e := range []string{fmt.Sprintf("%d + %d", a, b), fmt.Sprintf("%d - %d", a, b)} {
				total++
				if SplitOf(e) == Test {
					inTest++
				}
			}
		}
	}
	share := float64(inTest) / float64(total)
	if share < 0.08 || share > 0.12 {
		t.Errorf("test share = %.3f of %d expressions, want about 0.10", share, total)
	}
}

func TestDeterminismAndKnobs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.N, cfg.Seed = 50, 9
	a, _ := Generate(cfg)
	b, _ := Generate(cfg)
	cfg.Seed = 10
	c, _ := Generate(cfg)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("same seed, different problems")
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Error("different seeds, same problems")
	}

	cfg = Config{N: 200, Seed: 1, Split: Train, MinDigits: 3, MaxDigits: 3, MinSteps: 2, MaxSteps: 2, Ops: "-", Style: StyleSymbolic}
	ps, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		_, nums, running := evalExpr(t, p.Expression)
		if len(running) != 2 || strings.Contains(p.Expression, "+") || !strings.HasPrefix(p.Question, "What is ") {
			t.Fatalf("knobs ignored: %q / %q", p.Expression, p.Question)
		}
		if len(strconv.Itoa(nums[0])) != 3 {
			t.Fatalf("first operand of %q is not 3 digits", p.Expression)
		}
	}
	cfg.Style, cfg.Ops = StyleWord, "+-"
	ps, _ = Generate(cfg)
	for _, p := range ps {
		if strings.HasPrefix(p.Question, "What is") || !strings.HasSuffix(p.Question, "?") {
			t.Fatalf("word style gave %q", p.Question)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	// One-digit additions: 81 problems in all, about 8 of them in test.
	cfg := Config{N: 50, Seed: 1, Split: Test, MinDigits: 1, MaxDigits: 1, MinSteps: 1, MaxSteps: 1, Ops: "+", Style: StyleMixed}
	if _, err := Generate(cfg); err == nil || !strings.Contains(err.Error(), "found only") {
		t.Errorf("exhausted space: %v", err)
	}
	for _, bad := range []Config{
		{N: 1, Split: "dev", MinDigits: 1, MaxDigits: 1, MinSteps: 1, MaxSteps: 1, Ops: "+", Style: StyleMixed},
		{N: 1, Split: Train, MinDigits: 1, MaxDigits: 5, MinSteps: 1, MaxSteps: 1, Ops: "+", Style: StyleMixed},
		{N: 1, Split: Train, MinDigits: 1, MaxDigits: 1, MinSteps: 2, MaxSteps: 1, Ops: "+", Style: StyleMixed},
		{N: 1, Split: Train, MinDigits: 1, MaxDigits: 1, MinSteps: 1, MaxSteps: 1, Ops: "*", Style: StyleMixed},
		{N: 1, Split: Train, MinDigits: 1, MaxDigits: 1, MinSteps: 1, MaxSteps: 1, Ops: "+", Style: "poem"},
	} {
		if _, err := Generate(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestDatasetColumns(t *testing.T) {
	cfg := DefaultConfig()
	cfg.N, cfg.Seed = 3, 2
	ps, _ := Generate(cfg)
	ds := Dataset("arith", ps)
	if strings.Join(ds.Columns, ",") != "prompt,answer,solution,expression" || ds.Len() != 3 {
		t.Fatalf("columns %v rows %d", ds.Columns, ds.Len())
	}
	if ds.Rows[0]["answer"] != strconv.Itoa(ps[0].Answer) || ds.Rows[0]["prompt"] != ps[0].Question {
		t.Errorf("row 0 = %v", ds.Rows[0])
	}
}
