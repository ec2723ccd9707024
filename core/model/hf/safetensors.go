package hf

// A reader and writer for the safetensors format (https://github.com/huggingface/safetensors):
// an 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets},
// "__metadata__": {...}}, then the raw little-endian tensor bytes.
//
// Hand-written on purpose (~250 lines): the Go packages on the module proxy either read only
// through go-huggingface's hub.Repo (no local directories in v0.4.1, no writer) or are unreleased
// readers without a writer (nlpodyssey/safetensors). grpo needs both directions, float conversion
// on load, and errors that name the file and tensor for every kind of damage (truncation, offsets,
// shape/byte-count mismatch), which is what this file checks.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/dtypes/float16"
)

// maxHeaderSize is the format's limit on the JSON header (safetensors' MAX_HEADER_SIZE).
const maxHeaderSize = 100 << 20

// Safetensors dtype names.
const (
	F32  = "F32"
	BF16 = "BF16"
	F16  = "F16"
)

// dtypeSizes gives the element size of every dtype the format defines.
var dtypeSizes = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// TensorInfo describes one tensor of a safetensors file.
type TensorInfo struct {
	Name  string
	DType string // safetensors name: F32, BF16, F16, ...
	Shape []int
	// Begin and End are absolute byte offsets in the file.
	Begin, End int64
}

// NumElements is the product of the dimensions (1 for a scalar).
func (t TensorInfo) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// SafetensorsFile is an open safetensors file whose header has been validated.
type SafetensorsFile struct {
	Path     string
	Tensors  map[string]TensorInfo
	Names    []string // in file order
	Metadata map[string]string
	f        *os.File
}

// OpenSafetensors opens path and validates its header against the file size: a truncated file,
// overlapping or out-of-range offsets, and byte counts that do not match dtype×shape are errors
// naming the tensor.
func OpenSafetensors(path string) (*SafetensorsFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening safetensors file: %w", err)
	}
	st, err := parseSafetensorsHeader(f, path)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	st.f = f
	return st, nil
}

func parseSafetensorsHeader(f *os.File, path string) (*SafetensorsFile, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	size := fi.Size()
	var lenBuf [8]byte
	if _, err := f.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("%s: truncated safetensors file (%d bytes, shorter than its 8-byte header length): re-download or re-save it", path, size)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxHeaderSize {
		return nil, fmt.Errorf("%s: not a safetensors file (header length %d exceeds the format's 100 MiB limit)", path, n)
	}
	if int64(8+n) > size {
		return nil, fmt.Errorf("%s: truncated safetensors file: its header needs %d bytes, the file has %d: re-download or re-save it", path, 8+n, size)
	}
	hdr := make([]byte, n)
	if _, err := f.ReadAt(hdr, 8); err != nil {
		return nil, fmt.Errorf("%s: reading safetensors header: %w", path, err)
	}
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &entries); err != nil {
		return nil, fmt.Errorf("%s: safetensors header is not valid JSON (damaged file?): %w", path, err)
	}
	st := &SafetensorsFile{Path: path, Tensors: make(map[string]TensorInfo, len(entries))}
	dataStart := int64(8 + n)
	for name, raw := range entries {
		if name == "__metadata__" {
			if err := json.Unmarshal(raw, &st.Metadata); err != nil {
				return nil, fmt.Errorf("%s: __metadata__ must map strings to strings: %w", path, err)
			}
			continue
		}
		var e struct {
			DType       string   `json:"dtype"`
			Shape       []int    `json:"shape"`
			DataOffsets [2]int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("%s: tensor %q: invalid header entry: %w", path, name, err)
		}
		elem, ok := dtypeSizes[e.DType]
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q: unknown dtype %q", path, name, e.DType)
		}
		t := TensorInfo{Name: name, DType: e.DType, Shape: e.Shape, Begin: dataStart + e.DataOffsets[0], End: dataStart + e.DataOffsets[1]}
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("%s: tensor %q: negative dimension in shape %v", path, name, t.Shape)
			}
		}
		if e.DataOffsets[0] < 0 || t.End < t.Begin {
			return nil, fmt.Errorf("%s: tensor %q: invalid data_offsets %v", path, name, e.DataOffsets)
		}
		if want := int64(t.NumElements()) * int64(elem); t.End-t.Begin != want {
			return nil, fmt.Errorf("%s: tensor %q: data_offsets span %d bytes but %s%v needs %d", path, name, t.End-t.Begin, t.DType, t.Shape, want)
		}
		if t.End > size {
			return nil, fmt.Errorf("%s: truncated safetensors file: tensor %q needs bytes up to %d, the file has %d: re-download or re-save it", path, name, t.End, size)
		}
		st.Tensors[name] = t
		st.Names = append(st.Names, name)
	}
	slices.SortFunc(st.Names, func(a, b string) int { return int(st.Tensors[a].Begin - st.Tensors[b].Begin) })
	for i := 1; i < len(st.Names); i++ {
		prev, cur := st.Tensors[st.Names[i-1]], st.Tensors[st.Names[i]]
		if cur.Begin < prev.End {
			return nil, fmt.Errorf("%s: tensors %q and %q overlap in the file (damaged header)", path, prev.Name, cur.Name)
		}
	}
	return st, nil
}

// Close releases the file.
func (s *SafetensorsFile) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// ReadRaw returns the stored bytes of a tensor.
func (s *SafetensorsFile) ReadRaw(name string) ([]byte, error) {
	t, ok := s.Tensors[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", s.Path, name)
	}
	buf := make([]byte, t.End-t.Begin)
	if _, err := s.f.ReadAt(buf, t.Begin); err != nil {
		return nil, fmt.Errorf("%s: reading tensor %q: %w", s.Path, name, err)
	}
	return buf, nil
}

// ReadFloat32 reads a floating-point tensor (F32, BF16 or F16) and widens it to float32, which
// is exact for all three.
func (s *SafetensorsFile) ReadFloat32(name string) ([]float32, error) {
	t, ok := s.Tensors[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", s.Path, name)
	}
	if t.DType != F32 && t.DType != BF16 && t.DType != F16 {
		return nil, fmt.Errorf("%s: tensor %q has dtype %s; grpo loads F32, BF16 and F16 weights", s.Path, name, t.DType)
	}
	raw, err := s.ReadRaw(name)
	if err != nil {
		return nil, err
	}
	return DecodeFloats(raw, t.DType), nil
}

// DecodeFloats widens little-endian F32/BF16/F16 bytes to float32.
func DecodeFloats(raw []byte, dtype string) []float32 {
	switch dtype {
	case F32:
		out := make([]float32, len(raw)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out
	case BF16:
		out := make([]float32, len(raw)/2)
		for i := range out {
			out[i] = bfloat16.FromBits(binary.LittleEndian.Uint16(raw[2*i:])).Float32()
		}
		return out
	case F16:
		out := make([]float32, len(raw)/2)
		for i := range out {
			out[i] = float16.FromBits(binary.LittleEndian.Uint16(raw[2*i:])).Float32()
		}
		return out
	}
	panic("hf.DecodeFloats: unsupported dtype " + dtype)
}

// EncodeFloats narrows float32 values to little-endian F32/BF16/F16 bytes (round to nearest
// even, as torch's .to(dtype) does).
func EncodeFloats(values []float32, dtype string) ([]byte, error) {
	switch dtype {
	case F32:
		out := make([]byte, 4*len(values))
		for i, v := range values {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
		return out, nil
	case BF16:
		out := make([]byte, 2*len(values))
		for i, v := range values {
			binary.LittleEndian.PutUint16(out[2*i:], bfloat16.FromFloat32(v).Bits())
		}
		return out, nil
	case F16:
		out := make([]byte, 2*len(values))
		for i, v := range values {
			binary.LittleEndian.PutUint16(out[2*i:], float16.FromFloat32(v).Bits())
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported safetensors dtype %q (want F32, BF16 or F16)", dtype)
}

// WriteTensor is one tensor to write: its bytes are produced on demand, so a writer holds at most
// one tensor's bytes at a time.
type WriteTensor struct {
	Name  string
	DType string
	Shape []int
	Bytes func() ([]byte, error)
}

// ByteSize is the tensor's size in the file.
func (t WriteTensor) ByteSize() int64 {
	n := int64(dtypeSizes[t.DType])
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

// WriteSafetensors writes tensors (in the given order) to path, atomically: it writes a temporary
// file in the same directory and renames it.
func WriteSafetensors(path string, tensors []WriteTensor, metadata map[string]string) (err error) {
	header := make(map[string]any, len(tensors)+1)
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var offset int64
	for _, t := range tensors {
		if _, ok := dtypeSizes[t.DType]; !ok {
			return fmt.Errorf("writing %s: tensor %q: unknown dtype %q", path, t.Name, t.DType)
		}
		if _, dup := header[t.Name]; dup || t.Name == "__metadata__" {
			return fmt.Errorf("writing %s: duplicate or reserved tensor name %q", path, t.Name)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = map[string]any{"dtype": t.DType, "shape": shape, "data_offsets": []int64{offset, offset + t.ByteSize()}}
		offset += t.ByteSize()
	}
	hdr, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("writing %s: encoding header: %w", path, err)
	}
	// Pad the header with spaces to a multiple of 8 bytes, as the reference implementation does,
	// so that the data section is aligned.
	if pad := (8 - len(hdr)%8) % 8; pad > 0 {
		hdr = append(hdr, []byte(strings.Repeat(" ", pad))...)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hdr)))
	if _, err = tmp.Write(lenBuf[:]); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err = tmp.Write(hdr); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	for _, t := range tensors {
		var data []byte
		if data, err = t.Bytes(); err != nil {
			return fmt.Errorf("writing %s: tensor %q: %w", path, t.Name, err)
		}
		if int64(len(data)) != t.ByteSize() {
			err = fmt.Errorf("writing %s: tensor %q: got %d bytes for %s%v, want %d", path, t.Name, len(data), t.DType, t.Shape, t.ByteSize())
			return err
		}
		if _, err = tmp.Write(data); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
