package data

import (
	"fmt"
	"slices"
	"strings"
)

// Row is one dataset row: column name → JSON-like value (string, int64, float64, bool, nil,
// []any, map[string]any). The column order lives in Dataset.Columns.
type Row = map[string]any

// Origin says where a row came from, for error messages.
type Origin struct {
	File string
	// Line is the 1-based line of a JSONL row; 0 for formats without lines.
	Line int
	// Index is the 0-based row number within File.
	Index int
}

// String renders the origin as "file:line" (JSONL) or "file row N" (Parquet, Arrow).
func (o Origin) String() string {
	if o.Line > 0 {
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	}
	return fmt.Sprintf("%s row %d", o.File, o.Index)
}

// Dataset is an in-memory table of rows with their column order and origins.
type Dataset struct {
	// Name describes the dataset in messages, e.g. "data/arith train[:90%]".
	Name string
	// Columns lists every column in first-seen order. A row may lack a column (JSONL lines need
	// not share keys); code that needs a column checks it with Value or Text.
	Columns []string
	Rows    []Row
	// Origins has one entry per row.
	Origins []Origin
}

// Len is the number of rows.
func (d *Dataset) Len() int { return len(d.Rows) }

// Where names row i's origin ("train.jsonl:17"), or "row i of NAME" if unknown.
func (d *Dataset) Where(i int) string {
	if i >= 0 && i < len(d.Origins) && d.Origins[i].File != "" {
		return d.Origins[i].String()
	}
	return fmt.Sprintf("row %d of %s", i, d.Name)
}

// HasColumn reports whether some row has column name.
func (d *Dataset) HasColumn(name string) bool { return slices.Contains(d.Columns, name) }

// Value returns row i's value of column name, or an error naming the row and the columns it has.
func (d *Dataset) Value(i int, name string) (any, error) {
	v, ok := d.Rows[i][name]
	if !ok {
		return nil, fmt.Errorf("%s: row has no column %q (it has %s); fix the data or the column setting", d.Where(i), name, rowColumns(d.Columns, d.Rows[i]))
	}
	return v, nil
}

// Text returns row i's column name as a string; the value must be a string.
func (d *Dataset) Text(i int, name string) (string, error) {
	v, err := d.Value(i, name)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: column %q is %s, want a string", d.Where(i), name, describeValue(v))
	}
	return s, nil
}

// rowColumns lists the columns a row has, in dataset order.
func rowColumns(order []string, r Row) string {
	var have []string
	for _, c := range order {
		if _, ok := r[c]; ok {
			have = append(have, c)
		}
	}
	return "[" + strings.Join(have, ", ") + "]"
}

// Select returns the rows at idx (in that order) as a new dataset sharing the row maps.
func (d *Dataset) Select(name string, idx []int) *Dataset {
	out := &Dataset{Name: name, Columns: slices.Clone(d.Columns), Rows: make([]Row, len(idx)), Origins: make([]Origin, len(idx))}
	for k, i := range idx {
		out.Rows[k] = d.Rows[i]
		if i < len(d.Origins) {
			out.Origins[k] = d.Origins[i]
		}
	}
	return out
}

// Concat appends datasets; the columns are the union in first-seen order.
func Concat(name string, parts ...*Dataset) *Dataset {
	out := &Dataset{Name: name}
	for _, p := range parts {
		for _, c := range p.Columns {
			if !slices.Contains(out.Columns, c) {
				out.Columns = append(out.Columns, c)
			}
		}
		out.Rows = append(out.Rows, p.Rows...)
		out.Origins = append(out.Origins, p.Origins...)
		for len(out.Origins) < len(out.Rows) {
			out.Origins = append(out.Origins, Origin{})
		}
	}
	return out
}
