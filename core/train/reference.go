package train

import (
	"fmt"

	"github.com/grpo-dev/grpo/core/grpo"
	"github.com/grpo-dev/grpo/core/model"
)

// refModelDir is where a checkpoint keeps the reference model when sync_ref_model has moved it
// away from the initial policy (inside checkpoint-<step>/, HF layout).
const refModelDir = "ref_model"

// reference is the frozen reference policy of the KL penalty (beta > 0): a copy of the initial
// policy (TRL create_reference_model, RLT trainers/grpo.py:218-226), optionally moved toward the
// policy every ref_model_sync_steps (TR-DPO, sync_ref_model).
//
// With offload_untrained_models its weights are kept in host memory between uses (RLT wraps
// frozen models with CPU parameter offload, grpo.py:565-593): after each use the on-device copies
// are released, and the next use transfers them again. On the pure-Go backend host and device
// memory are the same, so this changes nothing there.
type reference struct {
	model   *model.Model
	prober  *logProber
	sync    *grpo.RefSync
	offload bool
}

func newReference(ref *model.Model, policy *model.Model, lp grpo.LogProbsConfig, withSync, offload bool) (*reference, error) {
	ref.SetTrainable(false)
	r := &reference{model: ref, offload: offload}
	var err error
	if r.prober, err = newLogProber(ref, lp); err != nil {
		return nil, fmt.Errorf("reference model: %w", err)
	}
	if withSync {
		if r.sync, err = grpo.NewRefSync(ref.Backend(), policy.Store, ref.Store); err != nil {
			return nil, err
		}
	}
	if offload {
		r.toHost()
	}
	return r, nil
}

// logProbs fills RefLogProbs of rows.
func (r *reference) logProbs(rows []*sampleRow, chunk int, pad int32) error {
	defer r.release()
	return r.prober.fill(rows, chunk, pad, func(row *sampleRow, lp []float32) { row.RefLogProbs = append([]float32(nil), lp...) })
}

// syncWith moves the reference toward the policy: θ_ref ← α·θ + (1−α)·θ_ref. It returns
// ‖θ − θ_ref‖ before the update.
func (r *reference) syncWith(alpha float64) (float64, error) {
	defer r.release()
	return r.sync.Sync(alpha)
}

// release puts the weights back in host memory when offloading.
func (r *reference) release() {
	if r.offload {
		r.toHost()
	}
}

// toHost makes sure every weight has a host copy and drops its device copy.
func (r *reference) toHost() {
	for _, v := range r.model.Variables() {
		t, err := v.Value()
		if err != nil || t == nil {
			continue
		}
		if err := t.ConstFlatData(func(any) {}); err != nil { // materialise the host copy
			continue
		}
		_ = t.InvalidateOnDevice()
	}
}

func (r *reference) close() {
	r.prober.close()
	if r.sync != nil {
		r.sync.Close()
	}
}
