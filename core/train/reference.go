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
	if err := r.release(); err != nil {
		return nil, err
	}
	return r, nil
}

// logProbs fills RefLogProbs of rows.
func (r *reference) logProbs(rows []*sampleRow, chunk int, pad int32) error {
	if err := r.prober.fill(rows, chunk, pad, func(row *sampleRow, lp []float32) { row.RefLogProbs = append([]float32(nil), lp...) }); err != nil {
		return err
	}
	return r.release()
}

// syncWith moves the reference toward the policy: θ_ref ← α·θ + (1−α)·θ_ref. It returns
// ‖θ − θ_ref‖ before the update.
func (r *reference) syncWith(alpha float64) (float64, error) {
	dist, err := r.sync.Sync(alpha)
	if err != nil {
		return 0, err
	}
	return dist, r.release()
}

// release puts the weights back in host memory when offloading.
func (r *reference) release() error {
	if r.offload {
		return r.toHost()
	}
	return nil
}

// toHost replaces every weight by a host-only copy and frees its device buffer; the next use
// transfers it back. (A fresh local tensor, rather than dropping the device side of the live
// one: GoMLX tensors holding both copies misbehave when a later call donates them, as the
// reference sync does.)
func (r *reference) toHost() error {
	for _, v := range r.model.Variables() {
		t, err := v.Value()
		if err != nil {
			return fmt.Errorf("offloading the reference model: %w", err)
		}
		if !t.IsOnDevice(0) || t.IsShared() { // already host-only, or host memory is device memory
			continue
		}
		host, err := t.LocalClone()
		if err != nil {
			return fmt.Errorf("offloading the reference model: %s: %w", v.Path(), err)
		}
		if err := v.SetValue(host); err != nil {
			return fmt.Errorf("offloading the reference model: %s: %w", v.Path(), err)
		}
		t.FinalizeAll()
	}
	return nil
}

func (r *reference) close() {
	r.prober.close()
	if r.sync != nil {
		r.sync.Close()
	}
}
