package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// readJSONFile reads a .jsonl/.json file (optionally .gz): one JSON object per line, or — for a
// .json file whose first character is '[' — one array of objects, as the Hugging Face json loader
// accepts both.
func readJSONFile(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open dataset file: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: not a gzip file: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	br := bufio.NewReaderSize(r, 1<<20)
	// Skip a UTF-8 byte order mark and peek at the first non-space byte.
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	first, err := firstNonSpace(br)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if first == '[' && !strings.HasSuffix(strings.TrimSuffix(strings.ToLower(path), ".gz"), ".jsonl") {
		all, err := io.ReadAll(br)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		return decodeJSONArray(path, all)
	}
	return decodeJSONLines(path, br)
}

// firstNonSpace peeks past leading whitespace without consuming the first real byte.
func firstNonSpace(br *bufio.Reader) (byte, error) {
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if len(b) < i {
			if errors.Is(err, io.EOF) {
				return 0, nil // empty file: no rows
			}
			return 0, err
		}
		switch c := b[i-1]; c {
		case ' ', '\t', '\r', '\n':
		default:
			return c, nil
		}
	}
}

// decodeJSONLines reads JSON Lines: one object per non-blank line.
func decodeJSONLines(path string, br *bufio.Reader) (*Dataset, error) {
	ds := &Dataset{Name: path}
	seen := map[string]bool{}
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read %s:%d: %w", path, lineNo, err)
		}
		if t := bytes.TrimSpace(line); len(t) > 0 {
			row, keys, derr := decodeObjectLine(t)
			if derr != nil {
				return nil, fmt.Errorf("%s:%d: %w (each line must be one JSON object)", path, lineNo, derr)
			}
			ds.appendRow(seen, row, keys, Origin{File: path, Line: lineNo, Index: len(ds.Rows)})
		}
		if errors.Is(err, io.EOF) {
			return ds, nil
		}
	}
}

// decodeJSONArray reads a JSON array of objects.
func decodeJSONArray(path string, all []byte) (*Dataset, error) {
	ds := &Dataset{Name: path}
	seen := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(all))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '['
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for dec.More() {
		off := int(dec.InputOffset())
		for off < len(all) && strings.IndexByte(" \t\r\n,", all[off]) >= 0 {
			off++ // InputOffset stops before the separator and the element's leading space
		}
		line := 1 + bytes.Count(all[:off], []byte{'\n'})
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s:%d: invalid JSON: %w", path, line, err)
		}
		if tok != json.Delim('{') {
			return nil, fmt.Errorf("%s:%d: array element is %v, want an object (one row per element)", path, line, tok)
		}
		row, keys, err := decodeObjectBody(dec)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		ds.appendRow(seen, row, keys, Origin{File: path, Line: line, Index: len(ds.Rows)})
	}
	if _, err := dec.Token(); err != nil { // ']'
		return nil, fmt.Errorf("%s: unterminated JSON array: %w", path, err)
	}
	return ds, nil
}

// decodeObjectLine decodes one line holding exactly one JSON object, keeping its key order.
func decodeObjectLine(line []byte) (Row, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("invalid JSON: %w", explainJSON(err, dec))
	}
	if tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("line holds %s, not a JSON object", describeToken(tok))
	}
	row, keys, err := decodeObjectBody(dec)
	if err != nil {
		return nil, nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("unexpected text after the JSON object at byte %d", dec.InputOffset())
	}
	return row, keys, nil
}

// decodeObjectBody reads the members of an object whose '{' was consumed, up to its '}'.
func decodeObjectBody(dec *json.Decoder) (Row, []string, error) {
	row := Row{}
	var keys []string
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("invalid JSON: %w", explainJSON(err, dec))
		}
		key, ok := kt.(string)
		if !ok {
			return nil, nil, fmt.Errorf("invalid JSON: object key %v is not a string", kt)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("invalid JSON in the value of %q: %w", key, explainJSON(err, dec))
		}
		if v, err = normalize(v); err != nil {
			return nil, nil, fmt.Errorf("value of %q: %w", key, err)
		}
		if _, dup := row[key]; !dup {
			keys = append(keys, key)
		}
		row[key] = v // a repeated key keeps its last value, as encoding/json does
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, nil, fmt.Errorf("invalid JSON: %w", explainJSON(err, dec))
	}
	return row, keys, nil
}

// explainJSON adds the byte offset to a syntax error.
func explainJSON(err error, dec *json.Decoder) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w (at byte %d)", err, se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("the JSON value is cut short at byte %d", dec.InputOffset())
	}
	return err
}

func describeToken(t json.Token) string {
	switch t {
	case json.Delim('['):
		return "a JSON array"
	case nil:
		return "null"
	}
	return fmt.Sprintf("the scalar %v", t)
}

// appendRow adds a row, extending the column order with keys not seen before.
func (d *Dataset) appendRow(seen map[string]bool, row Row, keys []string, o Origin) {
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			d.Columns = append(d.Columns, k)
		}
	}
	d.Rows = append(d.Rows, row)
	d.Origins = append(d.Origins, o)
}

// WriteJSONL writes the dataset as JSON Lines, each object's keys in the dataset's column order
// (missing keys are left out).
func WriteJSONL(w io.Writer, d *Dataset) error {
	bw := bufio.NewWriter(w)
	for i, r := range d.Rows {
		b, err := MarshalRow(d.Columns, r)
		if err != nil {
			return fmt.Errorf("%s: %w", d.Where(i), err)
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// MarshalRow renders a row as one JSON object with keys in the given order; keys of the row
// missing from order come last, sorted, so nothing is dropped.
func MarshalRow(order []string, r Row) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	n := 0
	write := func(k string, v any) error {
		if n > 0 {
			buf.WriteByte(',')
		}
		n++
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("column %q: %w", k, err)
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		return nil
	}
	done := make(map[string]bool, len(order))
	for _, k := range order {
		if v, ok := r[k]; ok {
			done[k] = true
			if err := write(k, v); err != nil {
				return nil, err
			}
		}
	}
	var rest []string
	for k := range r {
		if !done[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		if err := write(k, r[k]); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
