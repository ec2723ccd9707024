package metrics

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestCRC32CKnownValues(t *testing.T) {
	// The CRC-32C check value, and RFC 3720 (iSCSI) appendix B.4 vectors.
	ascending := make([]byte, 32)
	for i := range ascending {
		ascending[i] = byte(i)
	}
	for _, c := range []struct {
		data []byte
		want uint32
	}{
		{[]byte("123456789"), 0xE3069283},
		{make([]byte, 32), 0x8A9136AA},
		{bytes.Repeat([]byte{0xff}, 32), 0x62A8AB43},
		{ascending, 0x46DD794E},
	} {
		if got := crc32.Checksum(c.data, castagnoli); got != c.want {
			t.Errorf("crc32c(%x) = %#x, want %#x", c.data, got, c.want)
		}
	}
	// Every TensorFlow event file starts with the record of the 24-byte file_version event:
	// 18 00 00 00 00 00 00 00 a3 7f 4b 22 — the masked CRC of the length 24.
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], 24)
	if got := maskedCRC(n[:]); got != 0x224b7fa3 {
		t.Errorf("masked crc of length 24 = %#x, want 0x224b7fa3", got)
	}
}

func TestRecordRoundTripAndCorruption(t *testing.T) {
	var buf bytes.Buffer
	payloads := [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte{7}, 1000)}
	for _, p := range payloads {
		if err := writeRecord(&buf, p); err != nil {
			t.Fatal(err)
		}
	}
	raw := bytes.Clone(buf.Bytes())
	r := bytes.NewReader(raw)
	for _, p := range payloads {
		got, err := readRecord(r)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("read %q, %v; want %q", got, err, p)
		}
	}
	if _, err := readRecord(r); err != io.EOF {
		t.Fatalf("after the last record: %v, want io.EOF", err)
	}
	for _, pos := range []int{0, 9, 13} { // length, length CRC, data
		bad := bytes.Clone(raw)
		bad[pos] ^= 1
		if _, err := readRecord(bytes.NewReader(bad)); err == nil {
			t.Errorf("flipping byte %d went unnoticed", pos)
		}
	}
}

// event is a decoded tensorflow.Event (the fields grpo writes).
type event struct {
	wallTime    float64
	step        int64
	fileVersion string
	sessionLog  int64 // status, 0 if absent
	scalars     map[string]float32
	texts       map[string]string
	textPlugin  bool
}

func decodeEvent(t *testing.T, b []byte) event {
	t.Helper()
	ev := event{scalars: map[string]float32{}, texts: map[string]string{}}
	fields(t, b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) {
		switch num {
		case evWallTime:
			ev.wallTime = math.Float64frombits(x)
		case evStep:
			ev.step = int64(x)
		case evFileVersion:
			ev.fileVersion = string(v)
		case evSessionLog:
			fields(t, v, func(n protowire.Number, _ protowire.Type, _ []byte, x uint64) {
				if n == sessionStatus {
					ev.sessionLog = int64(x)
				}
			})
		case evSummary:
			fields(t, v, func(n protowire.Number, _ protowire.Type, val []byte, _ uint64) {
				if n != sumValue {
					t.Fatalf("unexpected Summary field %d", n)
				}
				var tag, text string
				var simple *float32
				fields(t, val, func(n protowire.Number, _ protowire.Type, b []byte, x uint64) {
					switch n {
					case valTag:
						tag = string(b)
					case valSimpleValue:
						f := math.Float32frombits(uint32(x))
						simple = &f
					case valMetadata:
						fields(t, b, func(n protowire.Number, _ protowire.Type, pd []byte, _ uint64) {
							fields(t, pd, func(_ protowire.Number, _ protowire.Type, name []byte, _ uint64) {
								ev.textPlugin = string(name) == "text"
							})
						})
					case valTensor:
						fields(t, b, func(n protowire.Number, _ protowire.Type, s []byte, _ uint64) {
							if n == tensorStringVal {
								text = string(s)
							}
						})
					}
				})
				if simple != nil {
					ev.scalars[tag] = *simple
				} else {
					ev.texts[tag] = text
				}
			})
		default:
			t.Fatalf("unexpected Event field %d", num)
		}
	})
	return ev
}

// fields walks a protobuf message with protowire, calling fn for each field.
func fields(t *testing.T, b []byte, fn func(protowire.Number, protowire.Type, []byte, uint64)) {
	t.Helper()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			x, n := protowire.ConsumeVarint(b)
			fn(num, typ, nil, x)
			b = b[n:]
		case protowire.Fixed64Type:
			x, n := protowire.ConsumeFixed64(b)
			fn(num, typ, nil, x)
			b = b[n:]
		case protowire.Fixed32Type:
			x, n := protowire.ConsumeFixed32(b)
			fn(num, typ, nil, uint64(x))
			b = b[n:]
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				t.Fatalf("bad bytes field %d", num)
			}
			fn(num, typ, v, 0)
			b = b[n:]
		default:
			t.Fatalf("unexpected wire type %d", typ)
		}
	}
}

func readEvents(t *testing.T, dir string) []event {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(dir, "events.out.tfevents.*"))
	if len(matches) != 1 {
		t.Fatalf("want one event file in %s, found %v", dir, matches)
	}
	data, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte{0x18, 0, 0, 0, 0, 0, 0, 0, 0xa3, 0x7f, 0x4b, 0x22}) {
		t.Fatalf("event file does not start like TensorFlow's: % x", data[:12])
	}
	var evs []event
	r := bytes.NewReader(data)
	for {
		rec, err := readRecord(r)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, decodeEvent(t, rec))
	}
	return evs
}

func TestTensorBoardEvents(t *testing.T) {
	out := t.TempDir()
	l, err := Open(Config{OutputDir: out, ReportTo: []string{"tensorboard"}, ResumeStep: 4, Progress: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Text(0, "config", "learning_rate = 1e-6"); err != nil {
		t.Fatal(err)
	}
	if err := l.Log(5, map[string]float64{"loss": 0.25, "rewards/math/mean": 0.5, "epoch": 0.1}); err != nil {
		t.Fatal(err)
	}
	// Flushed on Log: readable before Close.
	evs := readEvents(t, filepath.Join(out, "runs"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 {
		t.Fatalf("got %d events, want file_version, session start, text, scalars", len(evs))
	}
	if evs[0].fileVersion != "brain.Event:2" || evs[0].wallTime < 1e9 {
		t.Errorf("first event %+v", evs[0])
	}
	if evs[1].sessionLog != sessionStart || evs[1].step != 5 {
		t.Errorf("resume marker %+v, want SessionLog START at step 5 (purges steps >= 5 of the crashed run)", evs[1])
	}
	if evs[2].texts["config"] != "learning_rate = 1e-6" || !evs[2].textPlugin {
		t.Errorf("text event %+v", evs[2])
	}
	s := evs[3]
	if s.step != 5 || s.scalars["train/loss"] != 0.25 || s.scalars["train/rewards/math/mean"] != 0.5 ||
		s.scalars["train/epoch"] != 0.1 || len(s.scalars) != 3 {
		t.Errorf("scalar event %+v", s)
	}
}

func TestReportToValidation(t *testing.T) {
	_, err := Open(Config{OutputDir: t.TempDir(), ReportTo: []string{"wandb"}})
	if err == nil || !strings.Contains(err.Error(), "wandb") {
		t.Fatalf("report_to wandb: %v", err)
	}
	l, err := Open(Config{OutputDir: t.TempDir(), ReportTo: []string{"none"}, Progress: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Text(0, "x", "y"); err != nil { // no TensorBoard: a no-op
		t.Fatal(err)
	}
	l.Close()
}
