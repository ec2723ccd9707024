package data

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func jsonlRows(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(`{"prompt": "` + prefix + string(rune('a'+i)) + `", "answer": ` + string(rune('0'+i)) + "}\n")
	}
	return b.String()
}

func prompts(t *testing.T, ds *Dataset) []string {
	t.Helper()
	var out []string
	for i := range ds.Rows {
		s, err := ds.Text(i, "prompt")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestPlainDirectorySplits(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "train.jsonl"), jsonlRows("tr", 3))
	writeFile(t, filepath.Join(dir, "more", "train-extra.jsonl"), jsonlRows("tx", 1))
	writeFile(t, filepath.Join(dir, "dev.jsonl"), jsonlRows("va", 2))
	writeFile(t, filepath.Join(dir, "eval", "part0.jsonl"), jsonlRows("te", 2))
	writeFile(t, filepath.Join(dir, "README.json"), `{"x": 1}`) // names no split: ignored
	writeFile(t, filepath.Join(dir, ".hidden", "train.jsonl"), "not json")
	src, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := src.Splits(); !reflect.DeepEqual(got, []string{"train", "validation", "test"}) {
		t.Fatalf("splits = %v", got)
	}
	ds, err := src.Load("train")
	if err != nil {
		t.Fatal(err)
	}
	// Files sorted by path: more/train-extra.jsonl before train.jsonl.
	if got := prompts(t, ds); !reflect.DeepEqual(got, []string{"txa", "tra", "trb", "trc"}) {
		t.Errorf("train prompts = %v", got)
	}
	ds, err = src.Load("val[1:]+test[:50%]") // "val" is an alias of validation
	if err != nil {
		t.Fatal(err)
	}
	if got := prompts(t, ds); !reflect.DeepEqual(got, []string{"vab", "tea"}) {
		t.Errorf("val[1:]+test[:50%%] prompts = %v", got)
	}
	if _, err := src.Load("holdout"); err == nil || !strings.Contains(err.Error(), "train, validation, test") {
		t.Errorf("unknown split error = %v", err)
	}
}

func TestDirectoryWithoutSplitNamesIsTrain(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.jsonl"), jsonlRows("a", 2))
	writeParquet(t, filepath.Join(dir, "b.parquet"))
	src, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := src.Load("train")
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 2+len(fixtureRows) {
		t.Fatalf("rows = %d", ds.Len())
	}
	// The union of columns keeps first-seen order across files.
	if want := []string{"prompt", "answer", "question", "score", "ok", "conversations", "small", "long"}; !reflect.DeepEqual(ds.Columns, want) {
		t.Errorf("columns = %v, want %v", ds.Columns, want)
	}
	if _, err := ds.Value(3, "prompt"); err == nil || !strings.Contains(err.Error(), "b.parquet row 1") || !strings.Contains(err.Error(), `no column "prompt"`) {
		t.Errorf("missing-column error = %v", err)
	}
}

func TestSingleFileSplits(t *testing.T) {
	p := writeFile(t, filepath.Join(t.TempDir(), "data.jsonl"), jsonlRows("r", 10))
	train, val, err := LoadSplits(SplitConfig{DatasetIDOrPath: p, TrainSplit: "train[:80%]", ValSplit: "train[80%:]"})
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 8 || val.Len() != 2 || prompts(t, val)[0] != "ri" {
		t.Errorf("train %d rows, val %v", train.Len(), prompts(t, val))
	}
	if n := overlap(train, val); n != 0 {
		t.Errorf("disjoint slices overlap in %d rows", n)
	}
	train, val, _ = LoadSplits(SplitConfig{DatasetIDOrPath: p, ValSplit: "train[50%:]"})
	if n := overlap(train, val); n != 5 {
		t.Errorf("overlap = %d, want 5", n)
	}
	_, _, err = LoadSplits(SplitConfig{DatasetIDOrPath: p, ValSplit: "test"})
	if err == nil || !strings.Contains(err.Error(), "train[90%:]") {
		t.Errorf("single file asked for test: error %v should suggest a slice", err)
	}
}

func TestSaveToDiskLayouts(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "dataset_dict.json"), `{"splits": ["train", "test"]}`)
	for _, s := range []string{"train", "test"} {
		writeArrowStream(t, filepath.Join(dir, s, "data-00000-of-00002.arrow"))
		writeArrowStream(t, filepath.Join(dir, s, "data-00001-of-00002.arrow"))
		writeFile(t, filepath.Join(dir, s, "dataset_info.json"), `{"features": {}}`)
		writeFile(t, filepath.Join(dir, s, "state.json"), `{"_data_files": [{"filename": "data-00000-of-00002.arrow"}, {"filename": "data-00001-of-00002.arrow"}], "_fingerprint": "f", "_format_columns": null, "_format_kwargs": {}, "_format_type": null, "_output_all_columns": false, "_split": null}`)
	}
	src, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if src.Layout != "save_to_disk" || !reflect.DeepEqual(src.Splits(), []string{"train", "test"}) {
		t.Fatalf("layout %s splits %v", src.Layout, src.Splits())
	}
	ds, err := src.Load("test")
	if err != nil {
		t.Fatal(err)
	}
	if want := append(append([]Row{}, fixtureRows...), fixtureRows...); !reflect.DeepEqual(ds.Rows, want) {
		t.Errorf("test split rows differ from the two shards")
	}

	// A single Dataset.save_to_disk directory.
	one := filepath.Join(dir, "train")
	src, err = Open(one)
	if err != nil || src.Layout != "save_to_disk" {
		t.Fatalf("single split: %v %v", src, err)
	}
	if ds, err := src.Load("train[-1:]"); err != nil || ds.Len() != 1 || ds.Rows[0]["question"] != "third" {
		t.Errorf("train[-1:] = %v, %v", ds, err)
	}

	os.Remove(filepath.Join(dir, "test", "data-00001-of-00002.arrow"))
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "data-00001-of-00002.arrow") {
		t.Errorf("missing shard error = %v", err)
	}
}

// TestHubCaches builds both Hugging Face caches under a fake HF_HOME and opens them by id.
func TestHubCaches(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HF_HOME", home)
	t.Setenv("HF_DATASETS_CACHE", "")
	t.Setenv("HF_HUB_CACHE", "")

	// datasets builder cache: <org>___<name>/<config>/<version>/<hash>/<name>-<split>[-shard].arrow
	leaf := filepath.Join(home, "datasets", "someorg___math-qa", "default", "0.0.0", "abc123")
	writeFile(t, filepath.Join(leaf, "dataset_info.json"), `{"splits": {"train": {"name": "train", "num_examples": 6}, "test": {"name": "test", "num_examples": 3}}}`)
	writeArrowStream(t, filepath.Join(leaf, "math-qa-train-00000-of-00002.arrow"))
	writeArrowStream(t, filepath.Join(leaf, "math-qa-train-00001-of-00002.arrow"))
	writeArrowStream(t, filepath.Join(leaf, "math-qa-test.arrow"))
	// An older hash without dataset_info.json is ignored.
	os.MkdirAll(filepath.Join(home, "datasets", "someorg___math-qa", "default", "0.0.0", "old"), 0o755)

	src, err := Open("SomeOrg/Math-QA") // the cache lower-cases names
	if err != nil {
		t.Fatal(err)
	}
	if src.Layout != "datasets-cache" || src.Path != leaf {
		t.Fatalf("resolved to %s (%s)", src.Path, src.Layout)
	}
	if ds, err := src.Load("train"); err != nil || ds.Len() != 6 {
		t.Errorf("train: %v rows, %v", ds, err)
	}
	if ds, err := src.Load("test"); err != nil || ds.Len() != 3 {
		t.Errorf("test: %v, %v", ds, err)
	}

	// hub snapshot: datasets--<org>--<name>/snapshots/<rev>/ with files symlinked into blobs/.
	repo := filepath.Join(home, "hub", "datasets--other--gsm")
	writeParquet(t, filepath.Join(repo, "blobs", "deadbeef"))
	snap := filepath.Join(repo, "snapshots", "rev1", "main")
	os.MkdirAll(snap, 0o755)
	if err := os.Symlink(filepath.Join(repo, "blobs", "deadbeef"), filepath.Join(snap, "test-00000-of-00001.parquet")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(repo, "refs", "main"), "rev1\n")
	src, err = Open("other/gsm")
	if err != nil {
		t.Fatal(err)
	}
	if src.Layout != "hub-snapshot" || !reflect.DeepEqual(src.Splits(), []string{"test"}) {
		t.Fatalf("hub snapshot: layout %s splits %v", src.Layout, src.Splits())
	}
	if ds, err := src.Load("test"); err != nil || !reflect.DeepEqual(ds.Rows, fixtureRows) {
		t.Errorf("hub snapshot rows: %v", err)
	}

	_, err = Open("nobody/nothing")
	if err == nil || !strings.Contains(err.Error(), "nobody___nothing") || !strings.Contains(err.Error(), "datasets--nobody--nothing") {
		t.Errorf("not-found error should name both cache paths: %v", err)
	}
}
