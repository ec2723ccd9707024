// Package arith generates the demo data of grpo: seeded multi-digit addition and subtraction
// word problems with an answer and a short worked solution ending in \boxed{answer}. The demo
// model is trained on it with `grpo sft`, then improved with `grpo run`.
//
// Train and test never share a problem: every problem's arithmetic (its expression, e.g.
// "37 + 85 - 12", whatever the wording) falls in exactly one split by a fixed hash, so files
// made with any seeds, sizes and difficulty settings stay disjoint.
package arith

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/grpo-dev/grpo/core/data"
)

// Splits.
const (
	Train = "train"
	Test  = "test"
)

// testShare is the percentage of the problem space reserved for the test split. It is a
// constant, not a setting: the disjointness guarantee holds only if every file uses the same.
const testShare = 10

// Styles of wording.
const (
	StyleMixed    = "mixed"    // symbolic and word problems, half each
	StyleSymbolic = "symbolic" // "What is 37 + 85?"
	StyleWord     = "word"     // "Tom has 37 apples. He gets 85 more. ..."
)

// Config sets the size, seed and difficulty of a generated split.
type Config struct {
	N     int
	Seed  int64
	Split string // Train or Test
	// MinDigits..MaxDigits bounds each operand's digit count (1–4); the digit count is drawn
	// uniformly, then the operand uniformly among numbers of that many digits.
	MinDigits, MaxDigits int
	// MinSteps..MaxSteps bounds the number of operations (1 = "a + b", 2 = "a + b - c").
	MinSteps, MaxSteps int
	// Ops lists the allowed operations, a subset of "+-".
	Ops string
	// Style is StyleMixed, StyleSymbolic or StyleWord.
	Style string
	// Lazy makes a flawed demonstrator: it is the probability that the worked solution of a
	// multi-step problem whose first operation is LazyOp ('+' or '-'; 0 = any) stops after that
	// first operation and boxes its intermediate result. The answer column keeps the true
	// answer. The demo supervises on such solutions so that the SFT model has a habit GRPO,
	// rewarded on the true answer, can unlearn (RL selects among behaviours the model already
	// shows). The draw is a hash of (Seed, expression): the same problems are drawn whatever
	// Lazy is.
	Lazy   float64
	LazyOp byte
}

// DefaultConfig is the demo's difficulty: 1–3 digit operands, one or two steps, mixed wording.
func DefaultConfig() Config {
	return Config{Split: Train, MinDigits: 1, MaxDigits: 3, MinSteps: 1, MaxSteps: 2, Ops: "+-", Style: StyleMixed}
}

// Problem is one generated problem.
type Problem struct {
	Question string
	Answer   int
	Solution string
	// Expression is the canonical arithmetic ("37 + 85 - 12"); it decides the split.
	Expression string
}

func (c Config) validate() error {
	switch {
	case c.N < 0:
		return fmt.Errorf("arith: n = %d, want ≥ 0", c.N)
	case c.Split != Train && c.Split != Test:
		return fmt.Errorf("arith: split %q, want train or test", c.Split)
	case c.MinDigits < 1 || c.MaxDigits > 4 || c.MinDigits > c.MaxDigits:
		return fmt.Errorf("arith: digits %d–%d, want 1 ≤ min ≤ max ≤ 4", c.MinDigits, c.MaxDigits)
	case c.MinSteps < 1 || c.MaxSteps > 4 || c.MinSteps > c.MaxSteps:
		return fmt.Errorf("arith: steps %d–%d, want 1 ≤ min ≤ max ≤ 4", c.MinSteps, c.MaxSteps)
	case c.Ops == "" || strings.Trim(c.Ops, "+-") != "":
		return fmt.Errorf("arith: ops %q, want a non-empty subset of \"+-\"", c.Ops)
	case c.Style != StyleMixed && c.Style != StyleSymbolic && c.Style != StyleWord:
		return fmt.Errorf("arith: style %q, want mixed, symbolic or word", c.Style)
	case !(c.Lazy >= 0 && c.Lazy <= 1):
		return fmt.Errorf("arith: lazy %v, want a probability in [0, 1]", c.Lazy)
	case c.LazyOp != 0 && c.LazyOp != '+' && c.LazyOp != '-':
		return fmt.Errorf("arith: lazy op %q, want '+', '-' or none", c.LazyOp)
	}
	return nil
}

// lazyFor says whether the problem gets the lazy solution (see Config.Lazy).
func (c Config) lazyFor(ops []byte, expr string) bool {
	if c.Lazy == 0 || len(ops) < 2 || (c.LazyOp != 0 && ops[0] != c.LazyOp) {
		return false
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "grpo-arith-lazy|%d|%s", c.Seed, expr)
	return float64(h.Sum64()>>11)/(1<<53) < c.Lazy
}

// SplitOf says which split an expression belongs to: test for a fixed ~10% of all expressions
// (by FNV-1a hash), train for the rest.
func SplitOf(expression string) string {
	h := fnv.New64a()
	h.Write([]byte("grpo-arith-v1|" + expression))
	if h.Sum64()%100 < testShare {
		return Test
	}
	return Train
}

// Generate draws cfg.N distinct problems of cfg.Split. It fails when the settings do not leave
// enough distinct problems in the split (e.g. 1-digit, 1-step problems are only a few hundred).
func Generate(cfg Config) ([]Problem, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	stream := uint64(1)
	if cfg.Split == Test {
		stream = 2
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), stream))
	seen := map[string]bool{}
	out := make([]Problem, 0, cfg.N)
	budget := 200*cfg.N + 10000
	for tries := 0; len(out) < cfg.N; tries++ {
		if tries == budget {
			return nil, fmt.Errorf("arith: found only %d distinct %s problems after %d draws with digits %d–%d, steps %d–%d, ops %q; lower --n or allow more digits or steps",
				len(out), cfg.Split, tries, cfg.MinDigits, cfg.MaxDigits, cfg.MinSteps, cfg.MaxSteps, cfg.Ops)
		}
		nums, ops := drawArithmetic(rng, cfg)
		expr := expression(nums, ops)
		if seen[expr] || SplitOf(expr) != cfg.Split {
			continue
		}
		seen[expr] = true
		p := render(rng, cfg.Style, nums, ops, expr)
		if cfg.lazyFor(ops, expr) {
			_, p.Solution = solve(nums[:2], ops[:1])
		}
		out = append(out, p)
	}
	return out, nil
}

// drawArithmetic draws the operands and operations. A subtraction never takes the running total
// below zero: its operand is drawn no larger than the total (and the step turns into an
// addition when the total is 0 or only "-" would not fit).
func drawArithmetic(rng *rand.Rand, cfg Config) ([]int, []byte) {
	steps := cfg.MinSteps + rng.IntN(cfg.MaxSteps-cfg.MinSteps+1)
	nums := []int{operand(rng, cfg, -1)}
	total := nums[0]
	var ops []byte
	for range steps {
		op := cfg.Ops[rng.IntN(len(cfg.Ops))]
		if op == '-' && total < 1 {
			if !strings.Contains(cfg.Ops, "+") {
				// Only subtraction allowed and nothing left: restart the chain from the top.
				return drawArithmetic(rng, cfg)
			}
			op = '+'
		}
		var b int
		if op == '-' {
			b = operand(rng, cfg, total)
			total -= b
		} else {
			b = operand(rng, cfg, -1)
			total += b
		}
		nums, ops = append(nums, b), append(ops, op)
	}
	return nums, ops
}

// operand draws a number with a uniform digit count in [MinDigits, MaxDigits], then uniform
// among those numbers (1–9 for one digit); limit ≥ 0 caps it (for subtraction).
func operand(rng *rand.Rand, cfg Config, limit int) int {
	maxD := cfg.MaxDigits
	if limit >= 0 {
		for maxD > 1 && low(maxD) > limit {
			maxD--
		}
		if low(maxD) > limit { // limit < 1 is excluded by the caller; keep it safe
			return limit
		}
	}
	minD := min(cfg.MinDigits, maxD)
	d := minD + rng.IntN(maxD-minD+1)
	lo, hi := low(d), low(d)*10-1
	if limit >= 0 && hi > limit {
		hi = limit
	}
	return lo + rng.IntN(hi-lo+1)
}

// low is the smallest d-digit number (1 for d = 1).
func low(d int) int {
	v := 1
	for range d - 1 {
		v *= 10
	}
	return v
}

func expression(nums []int, ops []byte) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(nums[0]))
	for i, op := range ops {
		b.WriteString(" " + string(op) + " " + strconv.Itoa(nums[i+1]))
	}
	return b.String()
}

// solve works the problem left to right: "37 + 85 = 122. 122 - 12 = 110. The answer is
// \boxed{110}."
func solve(nums []int, ops []byte) (int, string) {
	total := nums[0]
	var b strings.Builder
	for i, op := range ops {
		prev := total
		if op == '+' {
			total += nums[i+1]
		} else {
			total -= nums[i+1]
		}
		fmt.Fprintf(&b, "%d %c %d = %d. ", prev, op, nums[i+1], total)
	}
	fmt.Fprintf(&b, "The answer is \\boxed{%d}.", total)
	return total, b.String()
}

// Dataset turns problems into rows with columns prompt (the question), answer (the integer as a
// string, like GSM8K's), solution and expression. "prompt" + "solution" is also RLT's custom
// teacher layout.
func Dataset(name string, ps []Problem) *data.Dataset {
	ds := &data.Dataset{Name: name, Columns: []string{"prompt", "answer", "solution", "expression"}}
	for _, p := range ps {
		ds.Rows = append(ds.Rows, data.Row{
			"prompt": p.Question, "answer": strconv.Itoa(p.Answer), "solution": p.Solution, "expression": p.Expression,
		})
		ds.Origins = append(ds.Origins, data.Origin{})
	}
	return ds
}
