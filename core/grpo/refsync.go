package grpo

import (
	"errors"
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// MixWeights returns α·θ + (1 − α)·θ_ref, the TR-DPO reference update (TRL
// callbacks.py SyncRefModelCallback._sync_target_model, `target.mul_(1 - alpha).add_(copy,
// alpha=alpha)`, used by RLT trainers/grpo.py:583-585 with ref_model_mixup_alpha). alpha is a
// scalar node; policy and reference have the same shape. Half-precision weights are mixed in
// float32 and rounded once (TRL mixes in the parameter dtype); the result has reference's dtype.
func MixWeights(alpha, policy, reference *Node) *Node {
	dt := reference.DType()
	cdt := dt
	if dt.IsHalfPrecision() {
		cdt = dtypes.Float32
	}
	a := ConvertDType(alpha, cdt)
	r := ConvertDType(reference, cdt)
	p := ConvertDType(policy, cdt)
	return ConvertDType(Add(Mul(r, OneMinus(a)), Mul(p, a)), dt)
}

// RefSync mixes a reference model's weights toward the policy's, every ref_model_sync_steps
// optimizer steps when sync_ref_model is on. All variables are updated by one compiled GoMLX
// computation, in place where the backend allows (the reference buffers are donated).
type RefSync struct {
	policy, reference []*model.Variable
	exec              *model.Exec
}

// NewRefSync pairs every variable of the reference store with the policy variable of the same
// path (the reference is a copy of the policy model, e.g. Store.Clone, or the same checkpoint
// loaded twice). Policy variables without a reference counterpart are fine if they are not
// trainable (optimizer state, step counters); a trainable one is an error, as is a reference
// variable the policy lacks or one whose shape differs.
func NewRefSync(backend compute.Backend, policy, reference *model.Store) (*RefSync, error) {
	if policy == nil || reference == nil {
		return nil, errors.New("ref sync: policy and reference stores are required")
	}
	if policy == reference {
		return nil, errors.New("ref sync: the reference store is the policy store; the reference model needs its own copy of the weights")
	}
	s := &RefSync{}
	paired := map[string]bool{}
	for rv := range reference.IterVariables() {
		pv := policy.GetVariable(rv.Path())
		if pv == nil {
			return nil, fmt.Errorf("ref sync: reference variable %q has no policy variable of the same path: the reference must be a copy of the policy model", rv.Path())
		}
		if !pv.Shape().EqualDimensions(rv.Shape()) {
			return nil, fmt.Errorf("ref sync: variable %q is %s in the policy but %s in the reference", rv.Path(), pv.Shape(), rv.Shape())
		}
		s.policy = append(s.policy, pv)
		s.reference = append(s.reference, rv)
		paired[rv.Path()] = true
	}
	if len(s.reference) == 0 {
		return nil, errors.New("ref sync: the reference store has no variables")
	}
	for pv := range policy.IterVariables() {
		if pv.Trainable && !paired[pv.Path()] {
			return nil, fmt.Errorf("ref sync: trainable policy variable %q has no reference counterpart: the reference must be a copy of the policy model", pv.Path())
		}
	}
	exec, err := model.NewExec(backend, reference, func(_ *model.Scope, in []*Node) *Node {
		alpha := in[0]
		g := alpha.Graph()
		dist := ScalarZero(g, dtypes.Float64)
		for i, rv := range s.reference {
			ref := rv.NodeValue(g)
			pol := in[i+1]
			diff := Sub(ConvertDType(pol, dtypes.Float64), ConvertDType(ref, dtypes.Float64))
			dist = Add(dist, ReduceAllSum(Mul(diff, diff)))
			rv.SetNodeValue(MixWeights(alpha, pol, ref))
		}
		return Sqrt(dist)
	})
	if err != nil {
		return nil, fmt.Errorf("ref sync: %w", err)
	}
	s.exec = exec
	return s, nil
}

// Sync sets θ_ref ← α·θ + (1 − α)·θ_ref for every variable and returns ‖θ − θ_ref‖₂ (over all
// variables, before the update), a measure of how far the policy has drifted from its reference.
// α is ref_model_mixup_alpha, in [0, 1]; it is an input of the computation, so changing it does
// not recompile.
func (s *RefSync) Sync(alpha float64) (float64, error) {
	if !(alpha >= 0 && alpha <= 1) {
		return 0, fmt.Errorf("ref sync: ref_model_mixup_alpha = %v, must be in [0, 1]", alpha)
	}
	args := make([]any, 0, len(s.policy)+1)
	args = append(args, alpha)
	for _, pv := range s.policy {
		v, err := pv.Value()
		if err != nil {
			return 0, fmt.Errorf("ref sync: policy variable %q has no value (load or initialize the policy first): %w", pv.Path(), err)
		}
		args = append(args, v)
	}
	out, err := s.exec.Call(args...)
	if err != nil {
		return 0, fmt.Errorf("ref sync: %w", err)
	}
	defer out[0].MustFinalizeAll()
	return tensors.ToScalar[float64](out[0]), nil
}

// Close releases the compiled computation.
func (s *RefSync) Close() {
	if s.exec != nil {
		s.exec.Finalize()
		s.exec = nil
	}
}
