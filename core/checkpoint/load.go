package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Info names one complete checkpoint directory.
type Info struct {
	Dir  string
	Step int64
}

// List returns the complete checkpoints in outputDir, oldest (lowest step) first. Directories
// named checkpoint-<step> that lack a valid completion marker are skipped with a warning.
func List(outputDir string) ([]Info, error) {
	entries, err := os.ReadDir(outputDir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: reading output_dir: %w", err)
	}
	var out []Info
	for _, e := range entries {
		step, ok := stepOf(e.Name())
		if !ok || !e.IsDir() {
			continue
		}
		dir := filepath.Join(outputDir, e.Name())
		if err := Verify(dir); err != nil {
			slog.Warn("skipping an incomplete checkpoint", "dir", dir, "err", err)
			continue
		}
		out = append(out, Info{Dir: dir, Step: step})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out, nil
}

func stepOf(name string) (int64, bool) {
	s, ok := strings.CutPrefix(name, DirPrefix)
	if !ok || s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0 && strconv.FormatInt(n, 10) == s
}

// Latest returns the complete checkpoint with the highest step in outputDir.
func Latest(outputDir string) (string, error) {
	all, err := List(outputDir)
	if err != nil {
		return "", err
	}
	if len(all) == 0 {
		return "", fmt.Errorf("checkpoint: no complete %s<step> directory in output_dir %s", DirPrefix, outputDir)
	}
	return all[len(all)-1].Dir, nil
}

// Resolve interprets resume_from_checkpoint: "" or "false" means no resume (""), "true" or
// "latest" the latest complete checkpoint of outputDir, anything else a checkpoint directory.
func Resolve(outputDir, resume string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(resume)) {
	case "", "false":
		return "", nil
	case "true", "latest":
		dir, err := Latest(outputDir)
		if err != nil {
			return "", fmt.Errorf("resume_from_checkpoint = %q: %w (set resume_from_checkpoint = false to start fresh)", resume, err)
		}
		return dir, nil
	}
	info, err := os.Stat(resume)
	if err != nil {
		return "", fmt.Errorf("resume_from_checkpoint = %q: %w", resume, err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("resume_from_checkpoint = %q is not a directory", resume)
	}
	if err := Verify(resume); err != nil {
		if all, lerr := List(resume); lerr == nil && len(all) > 0 {
			return "", fmt.Errorf("resume_from_checkpoint = %q is an output directory, not a checkpoint: "+
				"name one of its checkpoints (latest: %s) or set resume_from_checkpoint = true", resume, all[len(all)-1].Dir)
		}
		return "", fmt.Errorf("resume_from_checkpoint = %q: %w", resume, err)
	}
	return resume, nil
}

// Verify checks that dir holds a complete checkpoint: a valid marker, and every file it lists
// present with its recorded size.
func Verify(dir string) error {
	var mk marker
	data, err := os.ReadFile(filepath.Join(dir, MarkerFile))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s has no %s: the save did not finish (or it is not a grpo checkpoint)", dir, MarkerFile)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &mk); err != nil || mk.Format != markerFormat {
		return fmt.Errorf("%s: invalid %s", dir, MarkerFile)
	}
	for rel, size := range mk.Files {
		info, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return fmt.Errorf("%s: file %s listed in %s is missing", dir, rel, MarkerFile)
		}
		if info.Size() != size {
			return fmt.Errorf("%s: file %s has %d bytes, %d recorded when saved", dir, rel, info.Size(), size)
		}
	}
	return nil
}

// Checkpoint is a loaded checkpoint. The model is loaded by the trainer from Dir (HF layout).
type Checkpoint struct {
	Dir       string
	Trainer   TrainerState
	Optimizer OptimizerState
	RNG       json.RawMessage // nil if the checkpoint has none
	Data      json.RawMessage
	Config    []byte
}

// Load verifies and reads the checkpoint in dir.
func Load(dir string) (*Checkpoint, error) {
	if err := Verify(dir); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	c := &Checkpoint{Dir: dir}
	if err := readJSON(filepath.Join(dir, TrainerStateFile), &c.Trainer); err != nil {
		return nil, err
	}
	meta, ts, err := ReadTensorFile(dir, OptimizerBase)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: optimizer state: %w", dir, err)
	}
	c.Optimizer = OptimizerState{Meta: meta, Tensors: ts}
	for _, f := range []struct {
		name string
		dst  *[]byte
	}{{RNGFile, (*[]byte)(&c.RNG)}, {DataFile, (*[]byte)(&c.Data)}, {ConfigFile, &c.Config}} {
		data, err := os.ReadFile(filepath.Join(dir, f.name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
		*f.dst = data
	}
	return c, nil
}
