package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/grpo-dev/grpo/core/model"
)

// stepBuffer holds the rows of the last generation and how many optimizer steps have used them
// (num_iterations: TRL trains μ times on each generation, with the ratio to the old policy).
type stepBuffer struct {
	Rows []*sampleRow `json:"rows"`
	Uses int          `json:"uses"`
}

// grpoState is data_state.json of a GRPO checkpoint: the repeat sampler's position and, in the
// middle of num_iterations > 1, the buffered rows (generated with weights that no longer exist,
// so they cannot be regenerated on resume).
type grpoState struct {
	Sampler json.RawMessage `json:"sampler"`
	Buffer  *stepBuffer     `json:"buffer,omitempty"`
	// RefSyncedAt is the last step at which the reference model was synced (sync_ref_model).
	RefSyncedAt int64 `json:"ref_synced_at,omitempty"`
}

func (t *GRPO) dataState() json.RawMessage {
	st := grpoState{Sampler: t.sampler.State(), RefSyncedAt: t.refSynced}
	if t.buffer != nil && t.buffer.Uses < t.mu {
		st.Buffer = t.buffer
	}
	b, _ := json.Marshal(st)
	return b
}

// State is the data position after the last finished step — after a failed step, the position
// before it, so that a resume repeats that step. Every random draw of GRPO is derived from the
// seed and the step (sampler passes, generation seeds, completion sampling), so there is no RNG
// state to save.
func (t *GRPO) State() (data, rng json.RawMessage, err error) {
	if t.failed {
		return t.before, nil, nil
	}
	return t.dataState(), nil, nil
}

// Restore moves the sampler (and the num_iterations buffer) to a checkpoint's position. The
// generator is re-synced before the next generation: it may hold other weights.
func (t *GRPO) Restore(gs int64, raw, _ json.RawMessage) error {
	var st grpoState
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("GRPO data position: %w", err)
	}
	if len(st.Sampler) == 0 {
		return errors.New("GRPO data position: no sampler state (was the checkpoint written by grpo sft?)")
	}
	if err := t.sampler.Restore(st.Sampler); err != nil {
		return err
	}
	t.buffer = st.Buffer
	if t.buffer != nil {
		if len(t.buffer.Rows) != t.ga*t.b {
			return fmt.Errorf("GRPO data position: the buffered generation has %d rows, the batch settings need %d; resume with the checkpoint's batch settings", len(t.buffer.Rows), t.ga*t.b)
		}
		if (t.old != nil) != (t.buffer.Rows[0].OldLogProbs != nil) || (t.ref != nil) != (t.buffer.Rows[0].RefLogProbs != nil) {
			return errors.New("GRPO data position: the buffered generation was made with other num_iterations/beta settings; resume with the checkpoint's settings")
		}
	}
	t.refSynced = st.RefSyncedAt
	t.synced = -1
	t.logs.resume = gs
	return nil
}

// SaveCheckpoint writes the reference model when sync_ref_model has moved it away from the
// initial policy (CheckpointExtra); without sync it is model_name_or_path itself.
func (t *GRPO) SaveCheckpoint(dir string) error {
	if t.ref == nil || t.ref.sync == nil {
		return nil
	}
	if err := t.ref.model.Save(filepath.Join(dir, refModelDir), model.SaveOptions{DType: "float32"}); err != nil {
		return fmt.Errorf("saving the reference model: %w", err)
	}
	return nil
}

// LoadCheckpoint restores the reference model saved by SaveCheckpoint.
func (t *GRPO) LoadCheckpoint(dir string) error {
	if t.ref == nil || t.ref.sync == nil {
		return nil
	}
	refDir := filepath.Join(dir, refModelDir)
	if _, err := os.Stat(refDir); err != nil {
		return fmt.Errorf("checkpoint %s has no %s/ (the reference model of sync_ref_model): resume with the settings the checkpoint was made with", dir, refModelDir)
	}
	saved, err := model.LoadDir(refDir, t.ref.model.Options())
	if err != nil {
		return fmt.Errorf("loading the reference model: %w", err)
	}
	if err := t.ref.model.CopyWeightsFrom(saved); err != nil {
		return fmt.Errorf("loading the reference model: %w", err)
	}
	return t.ref.release()
}
