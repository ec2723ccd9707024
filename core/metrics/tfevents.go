package metrics

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// TensorBoard event files: a TFRecord stream of tensorflow.Event protos
// (tensorflow/core/util/event.proto, summary.proto), encoded with protowire. Field numbers:
//
//	Event:       wall_time=1 (double), step=2 (int64), file_version=3 (string), summary=5, session_log=7
//	Summary:     value=1 (repeated Summary.Value)
//	Value:       tag=1, simple_value=2 (float), metadata=9, tensor=8
//	SessionLog:  status=1 (START=1)
//	SummaryMetadata: plugin_data=1 {plugin_name=1}
//	TensorProto: dtype=1 (DT_STRING=7), tensor_shape=2 {dim=2 {size=1}}, string_val=8
const (
	evWallTime    = 1
	evStep        = 2
	evFileVersion = 3
	evSummary     = 5
	evSessionLog  = 7

	sumValue = 1

	valTag         = 1
	valSimpleValue = 2
	valTensor      = 8
	valMetadata    = 9

	sessionStatus = 1
	sessionStart  = 1

	metaPluginData = 1
	pluginName     = 1

	tensorDType     = 1
	tensorShape     = 2
	tensorStringVal = 8
	dtString        = 7
	shapeDim        = 2
	dimSize         = 1
)

// eventWriter appends events to one events.out.tfevents file.
type eventWriter struct {
	f    *os.File
	w    *bufio.Writer
	path string
}

// newEventWriter creates dir/events.out.tfevents.<unix time>.<host>.<pid>.0 (the name
// TensorBoard globs for) and writes the file_version event. If purgeFrom > 0 it also writes a
// SessionLog START at that step: TensorBoard then hides events of earlier runs in the same
// directory with step >= purgeFrom (how torch's SummaryWriter(purge_step=…) handles a resume).
func newEventWriter(dir string, purgeFrom int64) (*eventWriter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	now := time.Now()
	name := fmt.Sprintf("events.out.tfevents.%010d.%s.%d.0", now.Unix(), host, os.Getpid())
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	ew := &eventWriter{f: f, w: bufio.NewWriter(f), path: path}
	var ev []byte
	ev = protowire.AppendTag(ev, evWallTime, protowire.Fixed64Type)
	ev = protowire.AppendFixed64(ev, math.Float64bits(wallTime(now)))
	ev = protowire.AppendTag(ev, evFileVersion, protowire.BytesType)
	ev = protowire.AppendString(ev, "brain.Event:2")
	err = writeRecord(ew.w, ev)
	if err == nil && purgeFrom > 0 {
		var sl []byte
		sl = protowire.AppendTag(sl, sessionStatus, protowire.VarintType)
		sl = protowire.AppendVarint(sl, sessionStart)
		err = writeRecord(ew.w, eventBytes(purgeFrom, now, evSessionLog, sl))
	}
	if err == nil {
		err = ew.w.Flush()
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("tensorboard: writing %s: %w", path, err)
	}
	return ew, nil
}

func wallTime(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// eventBytes encodes an Event with wall_time, step and one message field.
func eventBytes(step int64, t time.Time, field protowire.Number, msg []byte) []byte {
	var ev []byte
	ev = protowire.AppendTag(ev, evWallTime, protowire.Fixed64Type)
	ev = protowire.AppendFixed64(ev, math.Float64bits(wallTime(t)))
	ev = protowire.AppendTag(ev, evStep, protowire.VarintType)
	ev = protowire.AppendVarint(ev, uint64(step))
	ev = protowire.AppendTag(ev, field, protowire.BytesType)
	return protowire.AppendBytes(ev, msg)
}

// scalars writes one event holding a simple_value per metric (sorted by tag), then flushes.
func (ew *eventWriter) scalars(step int64, values map[string]float64) error {
	tags := make([]string, 0, len(values))
	for k := range values {
		tags = append(tags, k)
	}
	sort.Strings(tags)
	var sum []byte
	for _, tag := range tags {
		var v []byte
		v = protowire.AppendTag(v, valTag, protowire.BytesType)
		v = protowire.AppendString(v, tag)
		v = protowire.AppendTag(v, valSimpleValue, protowire.Fixed32Type)
		v = protowire.AppendFixed32(v, math.Float32bits(float32(values[tag])))
		sum = protowire.AppendTag(sum, sumValue, protowire.BytesType)
		sum = protowire.AppendBytes(sum, v)
	}
	return ew.write(eventBytes(step, time.Now(), evSummary, sum))
}

// text writes a text summary (TensorBoard's text plugin), as torch's SummaryWriter.add_text.
func (ew *eventWriter) text(step int64, tag, text string) error {
	var pd []byte
	pd = protowire.AppendTag(pd, pluginName, protowire.BytesType)
	pd = protowire.AppendString(pd, "text")
	var meta []byte
	meta = protowire.AppendTag(meta, metaPluginData, protowire.BytesType)
	meta = protowire.AppendBytes(meta, pd)
	var dim []byte
	dim = protowire.AppendTag(dim, dimSize, protowire.VarintType)
	dim = protowire.AppendVarint(dim, 1)
	var shape []byte
	shape = protowire.AppendTag(shape, shapeDim, protowire.BytesType)
	shape = protowire.AppendBytes(shape, dim)
	var tensor []byte
	tensor = protowire.AppendTag(tensor, tensorDType, protowire.VarintType)
	tensor = protowire.AppendVarint(tensor, dtString)
	tensor = protowire.AppendTag(tensor, tensorShape, protowire.BytesType)
	tensor = protowire.AppendBytes(tensor, shape)
	tensor = protowire.AppendTag(tensor, tensorStringVal, protowire.BytesType)
	tensor = protowire.AppendString(tensor, text)
	var v []byte
	v = protowire.AppendTag(v, valTag, protowire.BytesType)
	v = protowire.AppendString(v, tag)
	v = protowire.AppendTag(v, valMetadata, protowire.BytesType)
	v = protowire.AppendBytes(v, meta)
	v = protowire.AppendTag(v, valTensor, protowire.BytesType)
	v = protowire.AppendBytes(v, tensor)
	var sum []byte
	sum = protowire.AppendTag(sum, sumValue, protowire.BytesType)
	sum = protowire.AppendBytes(sum, v)
	return ew.write(eventBytes(step, time.Now(), evSummary, sum))
}

func (ew *eventWriter) write(ev []byte) error {
	if err := writeRecord(ew.w, ev); err != nil {
		return fmt.Errorf("tensorboard: writing %s: %w", ew.path, err)
	}
	if err := ew.w.Flush(); err != nil {
		return fmt.Errorf("tensorboard: writing %s: %w", ew.path, err)
	}
	return nil
}

func (ew *eventWriter) close() error {
	if err := ew.w.Flush(); err != nil {
		ew.f.Close()
		return err
	}
	return ew.f.Close()
}
