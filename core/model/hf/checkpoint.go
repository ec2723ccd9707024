package hf

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
)

// Weight file names of the Hugging Face layout.
const (
	SingleWeightsFile = "model.safetensors"
	WeightsIndexFile  = "model.safetensors.index.json"
)

// Checkpoint is the set of safetensors files holding a model's weights: model.safetensors, or
// the shards listed by model.safetensors.index.json.
type Checkpoint struct {
	Dir   string
	Names []string // every tensor, in file order (shard by shard)
	files map[string]*SafetensorsFile
	where map[string]*SafetensorsFile
}

// OpenCheckpoint opens the weights of the model directory dir and validates every file header.
func OpenCheckpoint(dir string) (*Checkpoint, error) {
	ck := &Checkpoint{Dir: dir, files: map[string]*SafetensorsFile{}, where: map[string]*SafetensorsFile{}}
	if err := ck.open(); err != nil {
		_ = ck.Close()
		return nil, err
	}
	return ck, nil
}

func (ck *Checkpoint) open() error {
	dir := ck.Dir
	single := filepath.Join(dir, SingleWeightsFile)
	index := filepath.Join(dir, WeightsIndexFile)
	switch {
	case exists(single):
		st, err := OpenSafetensors(single)
		if err != nil {
			return err
		}
		ck.add(st, st.Names)
		return nil
	case exists(index):
		return ck.openSharded(index)
	}
	return fmt.Errorf("no weights in %s: expected %s or %s (grpo reads safetensors; re-save other formats with transformers' save_pretrained)",
		dir, SingleWeightsFile, WeightsIndexFile)
}

func (ck *Checkpoint) openSharded(index string) error {
	data, err := os.ReadFile(index)
	if err != nil {
		return fmt.Errorf("reading %s: %w", index, err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return fmt.Errorf("%s: invalid JSON: %w", index, err)
	}
	if len(idx.WeightMap) == 0 {
		return fmt.Errorf("%s: weight_map is missing or empty", index)
	}
	byShard := map[string][]string{}
	for name, shard := range idx.WeightMap {
		if shard == "" || filepath.IsAbs(shard) || filepath.Base(shard) != shard {
			return fmt.Errorf("%s: tensor %q maps to an invalid shard file name %q", index, name, shard)
		}
		byShard[shard] = append(byShard[shard], name)
	}
	shards := make([]string, 0, len(byShard))
	for s := range byShard {
		shards = append(shards, s)
	}
	slices.Sort(shards)
	for _, shard := range shards {
		path := filepath.Join(ck.Dir, shard)
		names := byShard[shard]
		slices.Sort(names)
		if !exists(path) {
			return fmt.Errorf("%s lists shard %s (with tensor %q) but the file is missing: re-download the model", index, path, names[0])
		}
		st, err := OpenSafetensors(path)
		if err != nil {
			return err
		}
		for _, n := range names {
			if _, ok := st.Tensors[n]; !ok {
				_ = st.Close()
				return fmt.Errorf("%s maps tensor %q to %s, which does not contain it", index, n, path)
			}
		}
		inFileOrder := slices.DeleteFunc(slices.Clone(st.Names), func(n string) bool { return idx.WeightMap[n] != shard })
		ck.add(st, inFileOrder)
	}
	return nil
}

func (ck *Checkpoint) add(st *SafetensorsFile, names []string) {
	ck.files[st.Path] = st
	for _, n := range names {
		ck.where[n] = st
		ck.Names = append(ck.Names, n)
	}
}

// Info returns a tensor's header entry and the file holding it.
func (ck *Checkpoint) Info(name string) (TensorInfo, string, bool) {
	st, ok := ck.where[name]
	if !ok {
		return TensorInfo{}, "", false
	}
	return st.Tensors[name], st.Path, true
}

// ReadFloat32 reads a tensor widened to float32.
func (ck *Checkpoint) ReadFloat32(name string) ([]float32, error) {
	st, ok := ck.where[name]
	if !ok {
		return nil, fmt.Errorf("weights in %s have no tensor %q", ck.Dir, name)
	}
	return st.ReadFloat32(name)
}

// Close closes every file.
func (ck *Checkpoint) Close() error {
	var errs []error
	for _, st := range ck.files {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// DefaultMaxShardBytes is the shard size of WriteCheckpoint (transformers' historical default "5GB").
const DefaultMaxShardBytes = 5_000_000_000

// WriteCheckpoint writes tensors as dir/model.safetensors, or, when they exceed maxShardBytes
// (0: DefaultMaxShardBytes), as model-0000i-of-0000N.safetensors shards plus
// model.safetensors.index.json, the way save_pretrained does. Weight files of an earlier save in
// dir are removed first, so loaders cannot mix old and new shards. The files carry the metadata
// {"format": "pt"} that transformers requires.
func WriteCheckpoint(dir string, tensors []WriteTensor, maxShardBytes int64) error {
	if maxShardBytes <= 0 {
		maxShardBytes = DefaultMaxShardBytes
	}
	if err := removeWeightFiles(dir); err != nil {
		return err
	}
	var shards [][]WriteTensor
	var cur []WriteTensor
	var curBytes, total int64
	for _, t := range tensors {
		if len(cur) > 0 && curBytes+t.ByteSize() > maxShardBytes {
			shards, cur, curBytes = append(shards, cur), nil, 0
		}
		cur = append(cur, t)
		curBytes += t.ByteSize()
		total += t.ByteSize()
	}
	if len(cur) > 0 || len(shards) == 0 {
		shards = append(shards, cur)
	}
	meta := map[string]string{"format": "pt"}
	if len(shards) == 1 {
		return WriteSafetensors(filepath.Join(dir, SingleWeightsFile), shards[0], meta)
	}
	weightMap := map[string]string{}
	for i, shard := range shards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		if err := WriteSafetensors(filepath.Join(dir, name), shard, meta); err != nil {
			return err
		}
		for _, t := range shard {
			weightMap[t.Name] = name
		}
	}
	index := map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": weightMap}
	data, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", WeightsIndexFile, err)
	}
	return WriteFileAtomic(filepath.Join(dir, WeightsIndexFile), append(data, '\n'))
}

var shardName = regexp.MustCompile(`^model-\d{5}-of-\d{5}\.safetensors$`)

func removeWeightFiles(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("saving weights to %s: %w", dir, err)
	}
	for _, e := range entries {
		n := e.Name()
		if n == SingleWeightsFile || n == WeightsIndexFile || shardName.MatchString(n) {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("saving weights to %s: removing the earlier %s: %w", dir, n, err)
			}
		}
	}
	return nil
}

// WriteFileAtomic writes data to path through a temporary file and a rename.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}
