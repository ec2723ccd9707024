package tokenizer

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// parityRow is one line of testdata/{qwen3,llama3}_parity.jsonl, written by
// scripts/gpu/make_tokenizer_fixtures.py with HF tokenizers (see testdata/README.md).
type parityRow struct {
	Text        *string `json:"text"`
	BytesB64    string  `json:"bytes_b64"`
	IDs         []int32 `json:"ids"`
	IDsSpecial  []int32 `json:"ids_special"`
	Decoded     string  `json:"decoded"`
	DecodedSkip string  `json:"decoded_skip"`
}

func readParity(t *testing.T, name string) []parityRow {
	t.Helper()
	path := filepath.Join("testdata", name+"_parity.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []parityRow
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for line := 1; sc.Scan(); line++ {
		var r parityRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestHFParity checks every row of the HF fixtures: encode with and without special tokens,
// decode with and without skipping special tokens. Invalid UTF-8 rows feed the raw bytes to
// Encode, whose documented behaviour is HF's ids for the U+FFFD-replaced text.
func TestHFParity(t *testing.T) {
	for _, name := range []string{"qwen3", "llama3"} {
		t.Run(name, func(t *testing.T) {
			tk := realTokenizer(t, name)
			rows := readParity(t, name)
			if len(rows) < 2500 {
				t.Fatalf("%d fixture rows, want ≥ 2500", len(rows))
			}
			bad, invalid := 0, 0
			for i, r := range rows {
				var text string
				switch {
				case r.Text != nil:
					text = *r.Text
				case r.BytesB64 != "":
					b, err := base64.StdEncoding.DecodeString(r.BytesB64)
					if err != nil {
						t.Fatalf("row %d: %v", i+1, err)
					}
					text = string(b)
					invalid++
				default:
					t.Fatalf("row %d has neither text nor bytes_b64", i+1)
				}
				got := tk.Encode(text, false)
				gotSp := tk.Encode(text, true)
				dec := tk.Decode(r.IDs, false)
				decSkip := tk.Decode(r.IDs, true)
				if !slices.Equal(got, r.IDs) || !slices.Equal(gotSp, r.IDsSpecial) ||
					dec != r.Decoded || decSkip != r.DecodedSkip {
					bad++
					if bad <= 5 {
						t.Errorf("row %d %q:\n ids     %v\n want    %v\n special %v\n want    %v\n"+
							" decoded %q\n want    %q\n skip    %q\n want    %q", i+1, text,
							got, r.IDs, gotSp, r.IDsSpecial, dec, r.Decoded, decSkip, r.DecodedSkip)
					}
				}
			}
			if invalid == 0 {
				t.Errorf("no invalid UTF-8 rows in the fixture")
			}
			t.Logf("%d rows (%d invalid UTF-8), %d differ from HF", len(rows), invalid, bad)
			if bad > 0 {
				t.Errorf("%d of %d rows differ from HF tokenizers", bad, len(rows))
			}
		})
	}
}
