package hf

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func floatTensor(name, dtype string, shape []int, values []float32) WriteTensor {
	return WriteTensor{Name: name, DType: dtype, Shape: shape, Bytes: func() ([]byte, error) { return EncodeFloats(values, dtype) }}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	vals := []float32{1, -2.5, 3.140625, 1e-3, 65504, float32(math.Inf(-1))}
	err := WriteSafetensors(path, []WriteTensor{
		floatTensor("a.f32", F32, []int{2, 3}, vals),
		floatTensor("b.bf16", BF16, []int{6}, vals),
		floatTensor("c.f16", F16, []int{3, 2}, vals),
		floatTensor("scalar", F32, nil, []float32{7}),
	}, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := OpenSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Metadata["format"] != "pt" || len(st.Names) != 4 || st.Names[0] != "a.f32" {
		t.Fatalf("metadata %v names %v", st.Metadata, st.Names)
	}
	// Header is padded to 8 bytes, so data starts aligned.
	if st.Tensors["a.f32"].Begin%8 != 0 {
		t.Errorf("data section starts at %d, not 8-byte aligned", st.Tensors["a.f32"].Begin)
	}
	f32, _ := st.ReadFloat32("a.f32")
	bf, _ := st.ReadFloat32("b.bf16")
	f16, _ := st.ReadFloat32("c.f16")
	// Hand-derived narrowings: 3.140625 and 65504 are exact in both half formats; 1e-3 rounds.
	wantBF := []float32{1, -2.5, 3.140625, 0.00099945068359375, 65536, float32(math.Inf(-1))}
	wantF16 := []float32{1, -2.5, 3.140625, 0.0010004043579101562, 65504, float32(math.Inf(-1))}
	for i := range vals {
		if f32[i] != vals[i] || bf[i] != wantBF[i] || f16[i] != wantF16[i] {
			t.Errorf("value %d: f32 %v bf16 %v f16 %v; want %v %v %v", i, f32[i], bf[i], f16[i], vals[i], wantBF[i], wantF16[i])
		}
	}
	if s, _ := st.ReadFloat32("scalar"); len(s) != 1 || s[0] != 7 {
		t.Errorf("scalar = %v", s)
	}
}

func TestSafetensorsDamageIsNamed(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	if err := WriteSafetensors(good, []WriteTensor{
		floatTensor("w1", F32, []int{4}, []float32{1, 2, 3, 4}),
		floatTensor("w2", F32, []int{4}, []float32{5, 6, 7, 8}),
	}, nil); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	hdrLen := int(binary.LittleEndian.Uint64(data))
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "shorter than its 8-byte header length"},
		{"cut header", data[:8+hdrLen/2], "its header needs"},
		{"cut data", data[:len(data)-3], `tensor "w2" needs bytes up to`},
		{"bad json", append(append([]byte{}, data[:8]...), []byte(strings.Repeat("x", hdrLen))...), "not valid JSON"},
		{"shape mismatch", []byte(strings.Replace(string(data), `"shape":[4]`, `"shape":[5]`, 1)), `tensor "w1": data_offsets span 16 bytes but F32[5] needs 20`},
		{"unknown dtype", []byte(strings.Replace(string(data), `"dtype":"F32"`, `"dtype":"X32"`, 1)), `unknown dtype "X32"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := write(strings.ReplaceAll(tc.name, " ", "_")+".safetensors", tc.data)
			_, err := OpenSafetensors(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("error %v, want it to name %s and contain %q", err, p, tc.want)
			}
		})
	}
	// An integer tensor is readable raw but not as weights.
	ip := filepath.Join(dir, "ints.safetensors")
	if err := WriteSafetensors(ip, []WriteTensor{{Name: "ids", DType: "I64", Shape: []int{1}, Bytes: func() ([]byte, error) { return make([]byte, 8), nil }}}, nil); err != nil {
		t.Fatal(err)
	}
	st, err := OpenSafetensors(ip)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.ReadFloat32("ids"); err == nil || !strings.Contains(err.Error(), `tensor "ids" has dtype I64`) {
		t.Fatalf("reading an I64 tensor as weights: %v", err)
	}
}

func TestShardedCheckpoint(t *testing.T) {
	dir := t.TempDir()
	var tensors []WriteTensor
	for i := range 5 {
		v := make([]float32, 10)
		for j := range v {
			v[j] = float32(i*100 + j)
		}
		tensors = append(tensors, floatTensor(string(rune('a'+i))+".weight", F32, []int{2, 5}, v))
	}
	// Shards of at most 90 bytes hold two 40-byte tensors each: 3 shards.
	if err := WriteCheckpoint(dir, tensors, 90); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{WeightsIndexFile, "model-00001-of-00003.safetensors", "model-00003-of-00003.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("missing %s: %v", f, err)
		}
	}
	ck, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ck.Names, ",") != "a.weight,b.weight,c.weight,d.weight,e.weight" {
		t.Errorf("names %v", ck.Names)
	}
	v, err := ck.ReadFloat32("e.weight")
	if err != nil || v[9] != 409 {
		t.Fatalf("e.weight = %v, %v", v, err)
	}
	ck.Close()

	// Re-saving as one file removes the shards and the index.
	if err := WriteCheckpoint(dir, tensors, 0); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != SingleWeightsFile {
		t.Fatalf("after re-save, dir holds %v", entries)
	}

	// A missing shard is named with a tensor it holds.
	if err := WriteCheckpoint(dir, tensors, 90); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "model-00002-of-00003.safetensors"))
	_, err = OpenCheckpoint(dir)
	if err == nil || !strings.Contains(err.Error(), "model-00002-of-00003.safetensors") || !strings.Contains(err.Error(), `"c.weight"`) {
		t.Fatalf("missing shard error: %v", err)
	}
	if _, err := OpenCheckpoint(t.TempDir()); err == nil || !strings.Contains(err.Error(), "expected model.safetensors or model.safetensors.index.json") {
		t.Fatalf("empty dir error: %v", err)
	}
}
