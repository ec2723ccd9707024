package model

import (
	"fmt"
	"slices"
	"strings"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gm "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// An inference copy holds a model's weights laid out for generation (the local sampler's): in the
// compute dtype (no cast per read), with each layer's q/k/v projections stacked into one matrix
// (self_attn.qkv_proj: rows q, then k, then v; biases alike) and gate/up into one matrix
// (mlp.gate_up_proj: rows gate, then up). Its forward is the same function of the same weights
// with two products per layer where the checkpoint layout has five.
//
// Why stack them here: a decode step is one small product per projection per layer, so the
// launches, not the bytes, dominate at small batch, and the k/v products (896×128 for Qwen2-0.5B)
// are too thin to use the card well. XLA merges such products by itself (its DotMerger pass), but
// by concatenating the weights inside the program, which copies them at every execution: with
// the copy made once per weight update instead, every decode step reads each weight once.

// Names of the stacked projections of an inference copy.
const (
	qkvProj    = "self_attn.qkv_proj"
	gateUpProj = "mlp.gate_up_proj"
)

// Inference returns an empty inference copy of m: m's config, options and backend, its own Store,
// and the stacked layout (TensorNames lists it). Fill it, and refresh it after m's weights
// change, with SetWeights(the outputs of an Exec on m's Store returning m.InferenceWeights).
// Save and CopyWeightsFrom refuse it: its tensors are not a checkpoint's.
func (m *Model) Inference() *Model {
	c := *m
	c.Store, c.execs, c.stacked = gm.NewStore(), newExecCache(), true
	c.specs = nil
	for _, s := range m.specs {
		layer, name, ok := splitLayerName(s.Name)
		switch {
		case !ok:
			c.specs = append(c.specs, s)
		case name == "self_attn.q_proj.weight" || name == "self_attn.q_proj.bias":
			c.specs = append(c.specs, stacked(m.specs, layer, qkvProj, strings.TrimPrefix(name, "self_attn.q_proj."), "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"))
		case name == "mlp.gate_proj.weight" || name == "mlp.gate_proj.bias":
			c.specs = append(c.specs, stacked(m.specs, layer, gateUpProj, strings.TrimPrefix(name, "mlp.gate_proj."), "mlp.gate_proj", "mlp.up_proj"))
		case strings.HasPrefix(name, "self_attn.k_proj.") || strings.HasPrefix(name, "self_attn.v_proj.") || strings.HasPrefix(name, "mlp.up_proj."):
			// stacked with q_proj / gate_proj
		default:
			c.specs = append(c.specs, s)
		}
	}
	return &c
}

// splitLayerName splits "model.layers.3.mlp.up_proj.weight" into "model.layers.3." and
// "mlp.up_proj.weight".
func splitLayerName(name string) (layer, rest string, ok bool) {
	const p = "model.layers."
	if !strings.HasPrefix(name, p) {
		return "", "", false
	}
	i := strings.IndexByte(name[len(p):], '.')
	if i < 0 {
		return "", "", false
	}
	return name[:len(p)+i+1], name[len(p)+i+1:], true
}

// stacked is the spec of the stacking of parts' "kind" tensors (weight or bias) along axis 0.
func stacked(specs []tensorSpec, layer, to, kind string, parts ...string) tensorSpec {
	out := tensorSpec{Name: layer + to + "." + kind}
	for _, p := range parts {
		i := slices.IndexFunc(specs, func(s tensorSpec) bool { return s.Name == layer+p+"."+kind })
		s := specs[i]
		if out.Shape == nil {
			out.Shape, out.init = slices.Clone(s.Shape), s.init
		} else {
			out.Shape[0] += s.Shape[0]
		}
	}
	return out
}

// InferenceWeights computes the tensors of m's inference copy from m's weights, in the order of
// m.Inference().TensorNames(). It must run inside a graph of a model.Exec on m.Store.
func (m *Model) InferenceWeights(g *Graph) []*Node {
	if m.stacked {
		exceptions.Panicf("InferenceWeights: the model is already an inference copy")
	}
	var out []*Node
	for _, s := range m.Inference().specs {
		layer, name, ok := splitLayerName(s.Name)
		var parts []string
		if ok {
			kind := name[strings.LastIndexByte(name, '.')+1:]
			switch strings.TrimSuffix(name, "."+kind) {
			case qkvProj:
				parts = []string{"self_attn.q_proj." + kind, "self_attn.k_proj." + kind, "self_attn.v_proj." + kind}
			case gateUpProj:
				parts = []string{"mlp.gate_proj." + kind, "mlp.up_proj." + kind}
			}
		}
		if parts == nil {
			out = append(out, m.weight(g, s.Name))
			continue
		}
		nodes := make([]*Node, len(parts))
		for i, p := range parts {
			nodes[i] = m.weight(g, layer+p)
		}
		out = append(out, Concatenate(nodes, 0))
	}
	return out
}

// SetWeights sets (creating them on first use) the variables of m from values in the order of
// TensorNames, e.g. the outputs of an Exec returning the source model's InferenceWeights.
func (m *Model) SetWeights(values []*tensors.Tensor) error {
	if len(values) != len(m.specs) {
		return fmt.Errorf("setting weights: %d tensors for %d weights", len(values), len(m.specs))
	}
	for i, s := range m.specs {
		if !slices.Equal(values[i].Shape().Dimensions, s.Shape) {
			return fmt.Errorf("setting weights: %s has shape %v, want %v", s.Name, values[i].Shape(), s.Shape)
		}
		var err error
		if v := m.Variable(s.Name); v != nil {
			err = v.SetValue(values[i])
		} else {
			_, err = m.Store.CreateVariable(varPath(s.Name), values[i])
		}
		if err != nil {
			return fmt.Errorf("setting weights: %s: %w", s.Name, err)
		}
	}
	return nil
}
