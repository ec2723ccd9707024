package optim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// State is AdamW's resumable state, the counterpart of torch's optimizer.state_dict(): the step
// count and, per optimized variable, "exp_avg/<path>" and "exp_avg_sq/<path>" (float32, the
// variable's shape). Hyperparameters are not part of it: they come from the configuration.
type State struct {
	Step    int64                      `json:"step"`
	Params  []string                   `json:"params"` // optimized variable paths, in order
	Tensors map[string]*tensors.Tensor `json:"-"`
}

// Names of a parameter's state tensors in State.Tensors.
func expAvgName(path string) string   { return "exp_avg" + path }
func expAvgSqName(path string) string { return "exp_avg_sq" + path }

// State returns the current state. The tensors are the live variable values: write them out
// (e.g. checkpoint.Save) before the next update, which replaces them. It fails between the
// micro-batches of a step, where accumulated gradients would be lost.
func (o *AdamW) State() (State, error) {
	if o.pending != 0 {
		return State{}, fmt.Errorf("optim: state requested with %d accumulated micro-batches pending: checkpoint after Apply", o.pending)
	}
	st := State{Step: o.step, Tensors: map[string]*tensors.Tensor{}}
	if o.params == nil {
		if o.restored != nil { // restored but no graph built yet: hand back what was restored
			st.Params = o.restoredParams()
			for k, t := range o.restored {
				st.Tensors[k] = t
			}
		}
		return st, nil
	}
	for _, p := range o.params {
		for _, sv := range []struct{ scope, name string }{
			{ScopeExpAvg, expAvgName(p.Path())}, {ScopeExpAvgSq, expAvgSqName(p.Path())},
		} {
			v := o.store.GetVariable(sv.scope + p.Path())
			if v == nil || !v.HasValue() {
				if o.step == 0 { // graphs built, no update yet: moments are still zero
					t := tensors.FromShape(p.Shape())
					st.Tensors[sv.name] = t
					continue
				}
				return State{}, fmt.Errorf("optim: no %s variable for %q after %d steps", sv.scope, p.Path(), o.step)
			}
			t, err := v.Value()
			if err != nil {
				return State{}, fmt.Errorf("optim: reading %s: %w", v.Path(), err)
			}
			st.Tensors[sv.name] = t
		}
		st.Params = append(st.Params, p.Path())
	}
	return st, nil
}

// Restore loads a State saved by State, before or after the train graphs are built. The
// moments become the Store's optimizer variables; the set of optimized variables is checked
// against the model when the first graph is built (or now, if already built).
func (o *AdamW) Restore(st State) error {
	if o.pending != 0 {
		return fmt.Errorf("optim: restore with %d accumulated micro-batches pending", o.pending)
	}
	if st.Step < 0 {
		return fmt.Errorf("optim: restore: negative step %d", st.Step)
	}
	for _, p := range st.Params {
		for _, name := range []string{expAvgName(p), expAvgSqName(p)} {
			t, ok := st.Tensors[name]
			if !ok {
				return fmt.Errorf("optim: restore: state lists variable %q but has no tensor %q", p, name)
			}
			if t.Shape().DType != dtypes.Float32 {
				return fmt.Errorf("optim: restore: tensor %q is %s, want float32", name, t.Shape().DType)
			}
		}
	}
	if len(st.Tensors) != 2*len(st.Params) {
		return fmt.Errorf("optim: restore: %d tensors for %d variables (want exp_avg and exp_avg_sq for each)",
			len(st.Tensors), len(st.Params))
	}
	if st.Step > 0 && len(st.Params) == 0 {
		return fmt.Errorf("optim: restore: state at step %d has no moments", st.Step)
	}
	restored := map[string]*tensors.Tensor{}
	for k, t := range st.Tensors {
		restored[k] = t
	}
	if o.params != nil {
		if err := checkRestoredAgainst(restored, st.Params, o.params); err != nil {
			return err
		}
	}
	for _, p := range st.Params {
		for _, sv := range []struct{ scope, name string }{
			{ScopeExpAvg, expAvgName(p)}, {ScopeExpAvgSq, expAvgSqName(p)},
		} {
			if err := setStateVar(o.store, sv.scope+p, restored[sv.name]); err != nil {
				return err
			}
		}
	}
	o.step = st.Step
	if o.params == nil {
		o.restored = restored // checked against the model when the first graph binds
	}
	return nil
}

// setStateVar creates (non-trainable) or overwrites the variable at path with a copy of t.
func setStateVar(store *model.Store, path string, t *tensors.Tensor) error {
	c, err := t.Clone()
	if err != nil {
		return fmt.Errorf("optim: copying state tensor for %s: %w", path, err)
	}
	if v := store.GetVariable(path); v != nil {
		if !v.Shape().Equal(c.Shape()) {
			return fmt.Errorf("optim: restore: %s has shape %s in the Store, %s in the state", path, v.Shape(), c.Shape())
		}
		return v.SetValue(c)
	}
	v, err := store.CreateVariable(path, c)
	if err != nil {
		return fmt.Errorf("optim: restore: %w", err)
	}
	v.Trainable = false
	return nil
}

func (o *AdamW) restoredParams() []string {
	var ps []string
	for k := range o.restored {
		if p, ok := strings.CutPrefix(k, "exp_avg_sq"); ok {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return ps
}

// checkRestored is called by bind when a state was restored before the first graph.
func (o *AdamW) checkRestored(used []*model.Variable) error {
	return checkRestoredAgainst(o.restored, o.restoredParams(), used)
}

func checkRestoredAgainst(restored map[string]*tensors.Tensor, statePaths []string, params []*model.Variable) error {
	want := map[string]bool{}
	for _, p := range params {
		want[p.Path()] = true
		t, ok := restored[expAvgName(p.Path())]
		if !ok {
			return fmt.Errorf("optim: the restored optimizer state has no moments for trainable variable %q: "+
				"the checkpoint was made for a different model (or set of trainable variables)", p.Path())
		}
		if !slices.Equal(t.Shape().Dimensions, p.Shape().Dimensions) {
			return fmt.Errorf("optim: restored moments of %q have shape %v, the variable has %v",
				p.Path(), t.Shape().Dimensions, p.Shape().Dimensions)
		}
	}
	for _, p := range statePaths {
		if !want[p] {
			return fmt.Errorf("optim: the restored optimizer state has moments for %q, which is not a trainable "+
				"variable used by the loss: the checkpoint was made for a different model", p)
		}
	}
	return nil
}
