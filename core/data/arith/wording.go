package arith

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// The word-problem vocabulary. A story keeps one person and one kind of item throughout.
var (
	people = []struct{ name, pron string }{
		{"Tom", "He"}, {"Ana", "She"}, {"Sam", "He"}, {"Mia", "She"}, {"Leo", "He"}, {"Zoe", "She"},
		{"Ben", "He"}, {"Ivy", "She"},
	}
	items = []string{"apples", "marbles", "books", "coins", "stickers", "pencils", "cards", "shells"}
	// gains and losses phrase one step of a story; %d is the operand.
	gains  = []string{"%s gets %d more.", "%s finds %d more.", "%s buys %d more."}
	losses = []string{"%s gives away %d.", "%s loses %d.", "%s sells %d."}
)

// render words a problem. Symbolic: "What is 37 + 85 - 12?". Word problems tell a story, or for
// one step may use a two-boxes or shop wording.
func render(rng *rand.Rand, style string, nums []int, ops []byte, expr string) Problem {
	answer, solution := solve(nums, ops)
	word := style == StyleWord || (style == StyleMixed && rng.IntN(2) == 0)
	var q string
	if !word {
		q = "What is " + expr + "?"
	} else {
		q = story(rng, nums, ops)
	}
	return Problem{Question: q, Answer: answer, Solution: solution, Expression: expr}
}

func story(rng *rand.Rand, nums []int, ops []byte) string {
	p := people[rng.IntN(len(people))]
	item := items[rng.IntN(len(items))]
	if len(ops) == 1 {
		switch rng.IntN(3) {
		case 1:
			if ops[0] == '+' {
				return fmt.Sprintf("There are %d %s in one box and %d %s in another. How many %s are there in all?", nums[0], item, nums[1], item, item)
			}
			return fmt.Sprintf("A shop has %d %s. It sells %d of them. How many %s are left?", nums[0], item, nums[1], item)
		case 2:
			if ops[0] == '+' {
				return fmt.Sprintf("%s had %d %s and got %d more. How many %s does %s have now?", p.name, nums[0], item, nums[1], item, p.name)
			}
			return fmt.Sprintf("%s had %d %s and gave away %d. How many %s are left?", p.name, nums[0], item, nums[1], item)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s has %d %s.", p.name, nums[0], item)
	for i, op := range ops {
		subject := p.pron
		if i > 0 {
			subject = "Then " + strings.ToLower(p.pron)
		}
		forms := gains
		if op == '-' {
			forms = losses
		}
		b.WriteString(" " + fmt.Sprintf(forms[rng.IntN(len(forms))], subject, nums[i+1]))
	}
	fmt.Fprintf(&b, " How many %s does %s have now?", item, p.name)
	return b.String()
}
