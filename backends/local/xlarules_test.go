package local

import (
	"fmt"
	"slices"
	"strings"

	. "github.com/gomlx/gomlx/core/graph"
)

// This file checks a built graph against what the XLA backend (go-xla v0.4.1) can compile, on
// the Go backend where the graph is built the same way: the decode loop cannot be compiled here
// with XLA, so its structure is checked instead.
//
// go-xla creates the closure of each reduction once per program and caches it by key, with the
// function that first needed it as the closure's parent (compute/xla/ops_reduce.go:
// getReductionFn keyed by (dtype, reduce op), also used by Scatter*, ReduceWindow,
// SelectAndScatter and AllReduce; ArgMinMax keyed by (values dtype, output dtype, min/max);
// getSelectFn keyed by (dtype, select op)). stablehlo then refuses a closure whose parent is not
// the function adding the op, so one key used in two functions fails to compile. GoMLX builds the
// comparator of Sort and the branches of While/If as closures of main (core/graph function.go
// NewClosure), so those ops compile only in main.

// closureKeys returns the go-xla closure-cache keys node n needs. Where GoMLX does not expose the
// exact key (the reduction of ReduceWindow and AllReduce, the direction of ArgMinMax), it returns
// every key the node could need: the check may then refuse a legal graph, never accept an
// illegal one.
func closureKeys(n *Node) []string {
	if len(n.Inputs()) == 0 {
		return nil
	}
	dt := n.Inputs()[0].DType()
	reduce := func(ops ...string) []string {
		keys := make([]string, len(ops))
		for i, op := range ops {
			keys[i] = fmt.Sprintf("reduce %s %s", op, dt)
		}
		return keys
	}
	switch n.Type() {
	case NodeTypeReduceSum, NodeTypeScatterSum:
		return reduce("Sum")
	case NodeTypeReduceMax, NodeTypeScatterMax:
		return reduce("Max")
	case NodeTypeReduceMin, NodeTypeScatterMin:
		return reduce("Min")
	case NodeTypeReduceProduct:
		return reduce("Product")
	case NodeTypeReduceBitwiseAnd, NodeTypeReduceBitwiseOr, NodeTypeReduceBitwiseXor,
		NodeTypeReduceLogicalAnd, NodeTypeReduceLogicalOr, NodeTypeReduceLogicalXor:
		return reduce(strings.TrimPrefix(n.Type().String(), "Reduce"))
	case NodeTypeReduceWindow, NodeTypeAllReduce:
		return reduce("Sum", "Max", "Min", "Product")
	case NodeTypeSelectAndScatterMax:
		return append(reduce("Sum"), fmt.Sprintf("select Max %s", dt))
	case NodeTypeSelectAndScatterMin:
		return append(reduce("Sum"), fmt.Sprintf("select Min %s", dt))
	case NodeTypeArgMinMax:
		return []string{fmt.Sprintf("argminmax %s %s", dt, n.DType())}
	}
	return nil
}

// mainOnly are the node types whose closures GoMLX creates in main.
var mainOnly = []NodeType{NodeTypeSort, NodeTypeWhile, NodeTypeIf}

// xlaClosureProblems lists why the XLA backend would refuse the graph of these nodes: a
// closure-cache key used in more than one function, or a main-only op outside main. It also
// returns how many nodes needed a closure key (so a check can tell it saw the ops it meant to).
func xlaClosureProblems(nodes []*Node) (problems []string, keyed int) {
	type use struct {
		fn    *Function
		nodes []string
	}
	uses := map[string][]*use{}
	label := map[*Function]string{}
	name := func(f *Function) string {
		if _, ok := label[f]; !ok {
			label[f] = fmt.Sprintf("%s#%d", f.Path(), len(label))
		}
		return label[f]
	}
	for _, n := range nodes {
		if slices.Contains(mainOnly, n.Type()) && !n.Function().IsMain() {
			problems = append(problems, fmt.Sprintf("%s in %s: its closures are built in main", n.Type(), name(n.Function())))
		}
		keys := closureKeys(n)
		if len(keys) > 0 {
			keyed++
		}
		for _, k := range keys {
			i := slices.IndexFunc(uses[k], func(u *use) bool { return u.fn == n.Function() })
			if i < 0 {
				uses[k] = append(uses[k], &use{fn: n.Function()})
				i = len(uses[k]) - 1
			}
			uses[k][i].nodes = append(uses[k][i].nodes, fmt.Sprintf("%s%s", n.Type(), n.Shape()))
		}
	}
	keys := make([]string, 0, len(uses))
	for k := range uses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if len(uses[k]) < 2 {
			continue
		}
		var where []string
		for _, u := range uses[k] {
			where = append(where, fmt.Sprintf("%s (%s)", name(u.fn), strings.Join(u.nodes[:min(3, len(u.nodes))], ", ")))
		}
		problems = append(problems, fmt.Sprintf("closure %q used in %d functions: %s", k, len(uses[k]), strings.Join(where, "; ")))
	}
	return problems, keyed
}
