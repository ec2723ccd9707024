package data

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// fixtureSchema has the column types Hugging Face datasets produce for reasoning data: strings,
// integers, nullable floats, booleans and Bespoke-style list<struct<from, value>> conversations.
var fixtureSchema = arrow.NewSchema([]arrow.Field{
	{Name: "question", Type: arrow.BinaryTypes.String},
	{Name: "answer", Type: arrow.PrimitiveTypes.Int64},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "conversations", Type: arrow.ListOf(arrow.StructOf(
		arrow.Field{Name: "from", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "value", Type: arrow.BinaryTypes.String}))},
	{Name: "small", Type: arrow.PrimitiveTypes.Uint8},
	{Name: "long", Type: arrow.BinaryTypes.LargeString},
}, nil)

// fixtureJSON is the fixture's content as arrow-go's own JSON reader takes it, two batches.
var fixtureJSON = [][]string{
	{
		`{"question": "What is 2+2?", "answer": 4, "score": 0.5, "ok": true, "conversations": [{"from": "user", "value": "hi"}, {"from": "assistant", "value": "<|begin_of_thought|>t<|end_of_thought|>"}], "small": 200, "long": "x"}`,
		`{"question": "\\boxed{}", "answer": -1, "score": null, "ok": false, "conversations": [], "small": 0, "long": ""}`,
	},
	{
		`{"question": "third", "answer": 9007199254740993, "score": 1e-3, "ok": true, "conversations": [{"from": "user", "value": "q"}], "small": 1, "long": "y"}`,
	},
}

// fixtureRows is what the readers must return for fixtureJSON.
var fixtureRows = []Row{
	{"question": "What is 2+2?", "answer": int64(4), "score": 0.5, "ok": true, "conversations": []any{
		map[string]any{"from": "user", "value": "hi"},
		map[string]any{"from": "assistant", "value": "<|begin_of_thought|>t<|end_of_thought|>"},
	}, "small": int64(200), "long": "x"},
	{"question": `\boxed{}`, "answer": int64(-1), "score": nil, "ok": false, "conversations": []any{}, "small": int64(0), "long": ""},
	{"question": "third", "answer": int64(9007199254740993), "score": 1e-3, "ok": true, "conversations": []any{
		map[string]any{"from": "user", "value": "q"},
	}, "small": int64(1), "long": "y"},
}

func fixtureBatches(t *testing.T) []arrow.RecordBatch {
	t.Helper()
	var out []arrow.RecordBatch
	for _, lines := range fixtureJSON {
		b := array.NewRecordBuilder(memory.DefaultAllocator, fixtureSchema)
		for _, l := range lines {
			if err := b.UnmarshalJSON([]byte(l)); err != nil {
				t.Fatalf("fixture %s: %v", l, err)
			}
		}
		out = append(out, b.NewRecordBatch())
		b.Release()
	}
	return out
}

// writeArrowStream writes the fixture as Hugging Face datasets does: an IPC stream.
func writeArrowStream(t *testing.T, path string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := ipc.NewWriter(f, ipc.WithSchema(fixtureSchema))
	for _, r := range fixtureBatches(t) {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func writeParquet(t *testing.T, path string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tbl := array.NewTableFromRecords(fixtureSchema, fixtureBatches(t))
	// A row group of 2 rows makes the reader cross row groups.
	if err := pqarrow.WriteTable(tbl, f, 2, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func checkFixture(t *testing.T, ds *Dataset) {
	t.Helper()
	wantCols := []string{"question", "answer", "score", "ok", "conversations", "small", "long"}
	if !reflect.DeepEqual(ds.Columns, wantCols) {
		t.Errorf("columns = %v, want %v", ds.Columns, wantCols)
	}
	if !reflect.DeepEqual(ds.Rows, fixtureRows) {
		t.Errorf("rows =\n%#v\nwant\n%#v", ds.Rows, fixtureRows)
	}
	if ds.Origins[2].Index != 2 || !strings.Contains(ds.Where(2), "row 2") {
		t.Errorf("origin of row 2 = %v", ds.Where(2))
	}
}

func TestArrowStreamRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "data-00000-of-00001.arrow")
	writeArrowStream(t, p)
	ds, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	checkFixture(t, ds)
}

func TestArrowFileRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.arrow")
	f, _ := os.Create(p)
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(fixtureSchema))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range fixtureBatches(t) {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	f.Close()
	ds, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	checkFixture(t, ds)
}

func TestParquetRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "train-00000-of-00001.parquet")
	writeParquet(t, p)
	ds, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	checkFixture(t, ds)
}

func TestArrowDictionaryValues(t *testing.T) {
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	b := array.NewDictionaryBuilder(memory.DefaultAllocator, dt).(*array.BinaryDictionaryBuilder)
	for _, s := range []string{"easy", "hard", "easy"} {
		b.AppendString(s)
	}
	b.AppendNull()
	arr := b.NewArray()
	var got []any
	for i := 0; i < arr.Len(); i++ {
		v, err := arrowValue(arr, i)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if want := []any{"easy", "hard", "easy", nil}; !reflect.DeepEqual(got, want) {
		t.Errorf("dictionary values = %v, want %v", got, want)
	}
}

func TestCorruptArrowAndParquetErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"bad.arrow", "bad.parquet"} {
		p := writeFile(t, filepath.Join(dir, name), "this is not a columnar file at all")
		_, err := ReadFile(p)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v should name the file", name, err)
		}
	}
	_, err := ReadFile(writeFile(t, filepath.Join(dir, "data.csv"), "a,b\n"))
	if err == nil || !strings.Contains(err.Error(), ".parquet") {
		t.Errorf("csv: error %v should list the supported types", err)
	}
}
