package data

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// arrowFileMagic starts an Arrow IPC *file*; Hugging Face datasets writes the IPC *stream*
// format (pa.RecordBatchStreamWriter) for its cache and save_to_disk files, which has no magic.
var arrowFileMagic = []byte("ARROW1")

// readArrowFile reads an Arrow IPC file or stream (*.arrow) into rows.
func readArrowFile(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open dataset file: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(arrowFileMagic))
	n, _ := f.ReadAt(head, 0)
	ds := &Dataset{Name: path}
	if n == len(head) && bytes.Equal(head, arrowFileMagic) {
		fr, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.DefaultAllocator))
		if err != nil {
			return nil, fmt.Errorf("%s: not a readable Arrow IPC file: %w", path, err)
		}
		defer fr.Close()
		setColumns(ds, fr.Schema())
		for i := 0; i < fr.NumRecords(); i++ {
			rec, err := fr.RecordBatch(i)
			if err != nil {
				return nil, fmt.Errorf("%s: record batch %d: %w", path, i, err)
			}
			if err := appendRecord(ds, path, rec); err != nil {
				return nil, err
			}
		}
		return ds, nil
	}
	rdr, err := ipc.NewReader(bufio.NewReaderSize(f, 1<<20), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable Arrow IPC stream (as written by Hugging Face datasets): %w", path, err)
	}
	defer rdr.Release()
	setColumns(ds, rdr.Schema())
	for rdr.Next() {
		if err := appendRecord(ds, path, rdr.RecordBatch()); err != nil {
			return nil, err
		}
	}
	if err := rdr.Err(); err != nil {
		return nil, fmt.Errorf("%s: after row %d: %w", path, len(ds.Rows), err)
	}
	return ds, nil
}

// readParquetFile reads a Parquet file through arrow-go's pqarrow into rows.
func readParquetFile(path string) (*Dataset, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable Parquet file: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer rr.Release()
	ds := &Dataset{Name: path}
	setColumns(ds, rr.Schema())
	for rr.Next() {
		if err := appendRecord(ds, path, rr.RecordBatch()); err != nil {
			return nil, err
		}
	}
	if err := rr.Err(); err != nil {
		return nil, fmt.Errorf("%s: after row %d: %w", path, len(ds.Rows), err)
	}
	return ds, nil
}

func setColumns(ds *Dataset, s *arrow.Schema) {
	for _, f := range s.Fields() {
		ds.Columns = append(ds.Columns, f.Name)
	}
}

// appendRecord converts one record batch, column by column, into rows.
func appendRecord(ds *Dataset, path string, rec arrow.RecordBatch) error {
	base := len(ds.Rows)
	nrows := int(rec.NumRows())
	for i := 0; i < nrows; i++ {
		ds.Rows = append(ds.Rows, make(Row, rec.NumCols()))
		ds.Origins = append(ds.Origins, Origin{File: path, Index: base + i})
	}
	for c := 0; c < int(rec.NumCols()); c++ {
		name := rec.ColumnName(c)
		col := rec.Column(c)
		for i := 0; i < nrows; i++ {
			v, err := arrowValue(col, i)
			if err != nil {
				return fmt.Errorf("%s row %d, column %q: %w", path, base+i, name, err)
			}
			ds.Rows[base+i][name] = v
		}
	}
	return nil
}

// arrowValue converts element i of an Arrow array to the package's JSON-like values: integers
// to int64 (uint64 above MaxInt64 to float64), floats to float64, strings to string, lists to
// []any, structs and string-keyed maps to map[string]any, dictionary values to their decoded
// value. Other types (timestamps, decimals, ...) go through arrow-go's JSON form.
func arrowValue(a arrow.Array, i int) (any, error) {
	if a.IsNull(i) {
		return nil, nil
	}
	switch x := a.(type) {
	case *array.String:
		return strings.Clone(x.Value(i)), nil
	case *array.LargeString:
		return strings.Clone(x.Value(i)), nil
	case *array.StringView:
		return strings.Clone(x.Value(i)), nil
	case *array.Boolean:
		return x.Value(i), nil
	case *array.Int8:
		return int64(x.Value(i)), nil
	case *array.Int16:
		return int64(x.Value(i)), nil
	case *array.Int32:
		return int64(x.Value(i)), nil
	case *array.Int64:
		return x.Value(i), nil
	case *array.Uint8:
		return int64(x.Value(i)), nil
	case *array.Uint16:
		return int64(x.Value(i)), nil
	case *array.Uint32:
		return int64(x.Value(i)), nil
	case *array.Uint64:
		if v := x.Value(i); v <= math.MaxInt64 {
			return int64(v), nil
		} else {
			return float64(v), nil
		}
	case *array.Float16:
		return float64(x.Value(i).Float32()), nil
	case *array.Float32:
		return float64(x.Value(i)), nil
	case *array.Float64:
		return x.Value(i), nil
	case *array.Binary:
		return bytes.Clone(x.Value(i)), nil
	case *array.LargeBinary:
		return bytes.Clone(x.Value(i)), nil
	case *array.Dictionary:
		return arrowValue(x.Dictionary(), x.GetValueIndex(i))
	case *array.Struct:
		st := x.DataType().(*arrow.StructType)
		m := make(map[string]any, x.NumField())
		for j := 0; j < x.NumField(); j++ {
			v, err := arrowValue(x.Field(j), i)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", st.Field(j).Name, err)
			}
			m[st.Field(j).Name] = v
		}
		return m, nil
	case *array.Map: // before ListLike: a Map is a list of key/item pairs
		start, end := x.ValueOffsets(i)
		m := make(map[string]any, end-start)
		for j := int(start); j < int(end); j++ {
			k, err := arrowValue(x.Keys(), j)
			if err != nil {
				return nil, err
			}
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("map key %v is not a string; only string-keyed maps are supported", k)
			}
			v, err := arrowValue(x.Items(), j)
			if err != nil {
				return nil, fmt.Errorf("map item %q: %w", ks, err)
			}
			m[ks] = v
		}
		return m, nil
	case array.ListLike:
		start, end := x.ValueOffsets(i)
		out := make([]any, 0, end-start)
		for j := int(start); j < int(end); j++ {
			v, err := arrowValue(x.ListValues(), j)
			if err != nil {
				return nil, fmt.Errorf("list element %d: %w", j-int(start), err)
			}
			out = append(out, v)
		}
		return out, nil
	default:
		b, err := json.Marshal(a.GetOneForMarshal(i))
		if err != nil {
			return nil, fmt.Errorf("Arrow type %s is not supported: %w", a.DataType(), err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("Arrow type %s: %w", a.DataType(), err)
		}
		return normalize(v)
	}
}
