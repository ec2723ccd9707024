package checkpoint

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
)

// Tensor files ("grpo-tensors/1") hold named tensors exactly, in two files:
//
//	NAME.json  {"format": "grpo-tensors/1", "meta": <opaque JSON>, "tensors": [
//	              {"name": "exp_avg/model/norm/weight", "dtype": "Float32", "shape": [896],
//	               "offset": 0, "nbytes": 3584, "crc32c": 1234567}, ...]}
//	NAME.bin   the tensors' raw bytes, row-major, little-endian, concatenated in the order listed
//
// The format is ours on purpose: it is tiny, keeps every GoMLX dtype bit for bit, streams tensor
// by tensor, and checks each tensor with a CRC-32C. (Model weights go through the trainer's
// SaveModel in Hugging Face's safetensors layout instead.)
const tensorFormat = "grpo-tensors/1"

type tensorIndex struct {
	Format  string          `json:"format"`
	Meta    json.RawMessage `json:"meta,omitempty"`
	Tensors []tensorEntry   `json:"tensors"`
}

type tensorEntry struct {
	Name   string `json:"name"`
	DType  string `json:"dtype"`
	Shape  []int  `json:"shape"`
	Offset int64  `json:"offset"`
	NBytes int64  `json:"nbytes"`
	CRC32C uint32 `json:"crc32c"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func littleEndianHost() bool { return binary.NativeEndian.Uint16([]byte{1, 0}) == 1 }

// WriteTensorFile writes ts (sorted by name) and meta to dir/base.json and dir/base.bin.
// Files are not fsynced here: Save syncs the whole checkpoint directory before publishing it.
func WriteTensorFile(dir, base string, meta json.RawMessage, ts map[string]*tensors.Tensor) error {
	if !littleEndianHost() {
		return fmt.Errorf("checkpoint: tensor files are little-endian and this host is not")
	}
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, n)
	}
	sort.Strings(names)

	binPath := filepath.Join(dir, base+".bin")
	f, err := os.Create(binPath)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	idx := tensorIndex{Format: tensorFormat, Meta: meta, Tensors: []tensorEntry{}}
	var off int64
	for _, n := range names {
		t := ts[n]
		if t == nil {
			return fmt.Errorf("checkpoint: tensor %q is nil", n)
		}
		e := tensorEntry{Name: n, DType: t.Shape().DType.String(), Shape: append([]int{}, t.Shape().Dimensions...), Offset: off}
		var werr error
		if err := t.ConstBytes(func(data []byte) {
			e.NBytes = int64(len(data))
			e.CRC32C = crc32.Checksum(data, castagnoli)
			_, werr = w.Write(data)
		}); err != nil {
			return fmt.Errorf("checkpoint: reading tensor %q: %w", n, err)
		}
		if werr != nil {
			return fmt.Errorf("checkpoint: writing %s: %w", binPath, werr)
		}
		off += e.NBytes
		idx.Tensors = append(idx.Tensors, e)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("checkpoint: writing %s: %w", binPath, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("checkpoint: closing %s: %w", binPath, err)
	}
	return writeJSON(filepath.Join(dir, base+".json"), idx)
}

// ReadTensorFile reads what WriteTensorFile wrote, checking sizes and checksums.
func ReadTensorFile(dir, base string) (meta json.RawMessage, ts map[string]*tensors.Tensor, err error) {
	idxPath := filepath.Join(dir, base+".json")
	var idx tensorIndex
	if err := readJSON(idxPath, &idx); err != nil {
		return nil, nil, err
	}
	if idx.Format != tensorFormat {
		return nil, nil, fmt.Errorf("checkpoint: %s: format %q, want %q", idxPath, idx.Format, tensorFormat)
	}
	binPath := filepath.Join(dir, base+".bin")
	f, err := os.Open(binPath)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	ts = make(map[string]*tensors.Tensor, len(idx.Tensors))
	for _, e := range idx.Tensors {
		dt, err := dtypes.DTypeString(e.DType)
		if err != nil {
			return nil, nil, fmt.Errorf("checkpoint: %s: tensor %q: dtype %q: %w", idxPath, e.Name, e.DType, err)
		}
		shape := shapes.Make(dt, e.Shape...)
		if shape.ByteSize() != e.NBytes {
			return nil, nil, fmt.Errorf("checkpoint: %s: tensor %q: %d bytes listed for shape %s (%d bytes)",
				idxPath, e.Name, e.NBytes, shape, shape.ByteSize())
		}
		t := tensors.FromShape(shape)
		var rerr error
		var sum uint32
		if err := t.MutableBytes(func(data []byte) {
			_, rerr = f.ReadAt(data, e.Offset)
			sum = crc32.Checksum(data, castagnoli)
		}); err != nil {
			return nil, nil, fmt.Errorf("checkpoint: tensor %q: %w", e.Name, err)
		}
		if rerr != nil && !(rerr == io.EOF && e.NBytes == 0) {
			return nil, nil, fmt.Errorf("checkpoint: %s: reading tensor %q (offset %d, %d bytes): %w — the file is truncated or corrupt",
				binPath, e.Name, e.Offset, e.NBytes, rerr)
		}
		if sum != e.CRC32C {
			return nil, nil, fmt.Errorf("checkpoint: %s: tensor %q fails its CRC-32C check: the file is corrupt", binPath, e.Name)
		}
		ts[e.Name] = t
	}
	return idx.Meta, ts, nil
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("checkpoint: encoding %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	return nil
}
