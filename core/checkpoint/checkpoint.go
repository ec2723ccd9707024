// Package checkpoint writes and restores training checkpoints in the layout Hugging Face's
// Trainer uses, so `resume_from_checkpoint`, `save_total_limit` and tools that read HF output
// directories behave as a TRL user expects:
//
//	output_dir/checkpoint-<step>/
//	  <model files>              written by the trainer's SaveModel (config.json, model.safetensors, …)
//	  optimizer.json, .bin       optimizer state (moments, step) as a tensor file (see WriteTensorFile)
//	  rng_state.json             the trainer's RNG states (opaque JSON)
//	  data_state.json            the data position (opaque JSON)
//	  run_config.toml            the resolved run configuration (opaque bytes)
//	  trainer_state.json         global step, epoch, best metric, log history (as HF's)
//	  checkpoint_complete.json   written last: the list of files and their sizes
//
// A checkpoint is written into a temporary directory beside it, every file is fsynced, the
// completion marker is written last, and the directory is renamed into place. A crash at any
// point leaves either the previous state or a complete checkpoint: temporary directories are
// never taken for checkpoints, and a checkpoint-<step> directory without a valid marker is
// never resumed from.
//
// The package imports no optimizer or model: the trainer hands it a State whose parts come
// from core/optim (Optimizer), its model (SaveModel), its sampler (RNG, Data) and its config.
package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
)

// File names inside a checkpoint directory.
const (
	MarkerFile       = "checkpoint_complete.json"
	TrainerStateFile = "trainer_state.json"
	OptimizerBase    = "optimizer" // optimizer.json + optimizer.bin
	RNGFile          = "rng_state.json"
	DataFile         = "data_state.json"
	ConfigFile       = "run_config.toml"
	// DirPrefix starts every checkpoint directory name: checkpoint-<global step>.
	DirPrefix = "checkpoint-"
	tmpPrefix = ".tmp-" + DirPrefix
	oldPrefix = ".old-" + DirPrefix
)

// OptimizerState is the optimizer's part of a checkpoint: opaque JSON (e.g. core/optim.State
// marshalled: step, parameter list) and its tensors, written bit for bit.
type OptimizerState struct {
	Meta    json.RawMessage
	Tensors map[string]*tensors.Tensor
}

// State is everything one checkpoint holds.
type State struct {
	// Trainer is trainer_state.json; Trainer.GlobalStep names the directory.
	Trainer TrainerState
	// SaveModel writes the model in Hugging Face layout into dir (the checkpoint directory
	// itself, as HF does). For an exact resume it must be lossless (float32 weights stay float32).
	SaveModel func(dir string) error
	Optimizer OptimizerState
	RNG       json.RawMessage // the trainer's RNG states
	Data      json.RawMessage // the data position
	Config    []byte          // the resolved configuration, TOML
}

// Manager saves checkpoints into an output directory and applies save_total_limit. One
// process writes an output directory at a time: a save removes temporary directories that an
// interrupted earlier save left behind.
type Manager struct {
	// OutputDir is output_dir.
	OutputDir string
	// SaveTotalLimit is save_total_limit: when > 0, older checkpoints are deleted (oldest first)
	// so that at most this many remain, never deleting the newest, the one the run resumed from,
	// or the trainer state's best_model_checkpoint.
	SaveTotalLimit int
	// ResumedFrom is the checkpoint directory this run resumed from ("" if none).
	ResumedFrom string
}

// marker is checkpoint_complete.json.
type marker struct {
	Format     string           `json:"format"`
	GlobalStep int64            `json:"global_step"`
	Time       string           `json:"time"`
	Files      map[string]int64 `json:"files"` // relative path → size in bytes
}

const markerFormat = "grpo-checkpoint/1"

// reserved are the names the checkpoint writes itself; SaveModel must not write them.
var reserved = []string{MarkerFile, TrainerStateFile, OptimizerBase + ".json", OptimizerBase + ".bin", RNGFile, DataFile, ConfigFile}

// Save writes st as OutputDir/checkpoint-<step> atomically, then rotates old checkpoints.
// Saving a step that already has a checkpoint replaces it (as HF does).
func (m *Manager) Save(st State) (string, error) {
	step := st.Trainer.GlobalStep
	if step < 0 {
		return "", fmt.Errorf("checkpoint: negative global step %d", step)
	}
	if err := os.MkdirAll(m.OutputDir, 0o755); err != nil {
		return "", fmt.Errorf("checkpoint: creating output_dir: %w", err)
	}
	m.removeStale()
	name := DirPrefix + strconv.FormatInt(step, 10)
	final := filepath.Join(m.OutputDir, name)
	tmp, err := os.MkdirTemp(m.OutputDir, tmpPrefix+strconv.FormatInt(step, 10)+"-")
	if err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	if err := writeContents(tmp, st); err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("checkpoint %s: %w", final, err)
	}
	if err := publish(tmp, final); err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("checkpoint %s: %w", final, err)
	}
	if err := m.rotate(final, st.Trainer.BestModelCheckpoint); err != nil {
		return final, err
	}
	slog.Info("checkpoint saved", "dir", final, "global_step", step)
	return final, nil
}

// writeContents writes every part of st into dir, fsyncs it all, and writes the marker last.
func writeContents(dir string, st State) error {
	if st.SaveModel != nil {
		if err := st.SaveModel(dir); err != nil {
			return fmt.Errorf("saving the model: %w", err)
		}
		for _, r := range reserved {
			if _, err := os.Stat(filepath.Join(dir, r)); err == nil {
				return fmt.Errorf("SaveModel wrote %q, a name the checkpoint reserves for itself", r)
			}
		}
	}
	if err := WriteTensorFile(dir, OptimizerBase, st.Optimizer.Meta, st.Optimizer.Tensors); err != nil {
		return fmt.Errorf("saving the optimizer state: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{RNGFile, st.RNG}, {DataFile, st.Data}, {ConfigFile, st.Config}} {
		if f.data == nil {
			continue
		}
		if f.name != ConfigFile && !json.Valid(f.data) {
			return fmt.Errorf("%s: the trainer gave invalid JSON", f.name)
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	if err := writeJSON(filepath.Join(dir, TrainerStateFile), st.Trainer.jsonSafe()); err != nil {
		return err
	}
	files, err := syncTree(dir)
	if err != nil {
		return err
	}
	mk := marker{Format: markerFormat, GlobalStep: st.Trainer.GlobalStep, Time: time.Now().UTC().Format(time.RFC3339), Files: files}
	if err := writeJSON(filepath.Join(dir, MarkerFile), mk); err != nil {
		return err
	}
	if err := syncFile(filepath.Join(dir, MarkerFile)); err != nil {
		return err
	}
	return syncDir(dir)
}

// publish renames the finished tmp directory to final, replacing an existing final.
func publish(tmp, final string) error {
	parent := filepath.Dir(final)
	var old string
	if _, err := os.Stat(final); err == nil {
		f, err := os.MkdirTemp(parent, oldPrefix)
		if err != nil {
			return err
		}
		_ = os.Remove(f)
		old = f
		if err := os.Rename(final, old); err != nil {
			return fmt.Errorf("moving the existing checkpoint aside: %w", err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		if old != "" {
			_ = os.Rename(old, final)
		}
		return fmt.Errorf("publishing: %w", err)
	}
	if err := syncDir(parent); err != nil {
		return err
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			slog.Warn("could not remove the replaced checkpoint", "dir", old, "err", err)
		}
	}
	return nil
}

// removeStale deletes temporary directories left by a crash during an earlier save.
func (m *Manager) removeStale() {
	entries, err := os.ReadDir(m.OutputDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() && (strings.HasPrefix(e.Name(), tmpPrefix) || strings.HasPrefix(e.Name(), oldPrefix)) {
			p := filepath.Join(m.OutputDir, e.Name())
			slog.Warn("removing an unfinished checkpoint left by an interrupted save", "dir", p)
			_ = os.RemoveAll(p)
		}
	}
}

// rotate applies SaveTotalLimit after saving newest.
func (m *Manager) rotate(newest string, best *string) error {
	if m.SaveTotalLimit <= 0 {
		return nil
	}
	all, err := List(m.OutputDir)
	if err != nil {
		return err
	}
	keep := func(dir string) bool {
		return sameDir(dir, newest) || (m.ResumedFrom != "" && sameDir(dir, m.ResumedFrom)) ||
			(best != nil && *best != "" && sameDir(dir, *best))
	}
	excess := len(all) - m.SaveTotalLimit
	for _, c := range all { // oldest first
		if excess <= 0 {
			break
		}
		if keep(c.Dir) {
			continue
		}
		slog.Info("deleting older checkpoint", "dir", c.Dir, "save_total_limit", m.SaveTotalLimit)
		if err := os.RemoveAll(c.Dir); err != nil {
			return fmt.Errorf("checkpoint: save_total_limit: deleting %s: %w", c.Dir, err)
		}
		excess--
	}
	return nil
}

func sameDir(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && filepath.Clean(aa) == filepath.Clean(bb)
}

// syncTree fsyncs every file and directory under dir and returns the files' sizes.
func syncTree(dir string) (map[string]int64, error) {
	files := map[string]int64{}
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", p)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = info.Size()
		return syncFile(p)
	})
	if err != nil {
		return nil, fmt.Errorf("syncing: %w", err)
	}
	slices.Reverse(dirs)
	for _, d := range dirs {
		if err := syncDir(d); err != nil {
			return nil, err
		}
	}
	return files, nil
}

func syncFile(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", p, err)
	}
	return f.Close()
}

func syncDir(p string) error {
	d, err := os.Open(p)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("fsync %s: %w", p, err)
	}
	return nil
}
