package data

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Source is a dataset location resolved to the files of each split; nothing is read until Load.
type Source struct {
	// Path is the file or directory the data was found in.
	Path string
	// Layout says how the splits were found: "file", "directory", "save_to_disk",
	// "datasets-cache" (a datasets builder cache directory) or "hub-snapshot".
	Layout string
	splits map[string][]string
	order  []string
}

// Splits lists the split names, in a stable order (train, validation, test first).
func (s *Source) Splits() []string { return slices.Clone(s.order) }

// Files lists the files of split name, in read order.
func (s *Source) Files(name string) ([]string, error) {
	if f, ok := s.splits[name]; ok {
		return f, nil
	}
	if c := canonicalSplit(name); c != name {
		if f, ok := s.splits[c]; ok {
			return f, nil
		}
	}
	hint := ""
	if s.Layout == "file" {
		hint = fmt.Sprintf("; a single file holds one split, so hold out part of it with a slice such as %s[90%%:]", s.order[0])
	}
	return nil, fmt.Errorf("dataset %s has no split %q (it has %s)%s", s.Path, name, strings.Join(s.order, ", "), hint)
}

// Load reads the rows of a split expression such as "train", "train[:90%]" or "train+test"
// (see ParseSplit). Each split's files are read once and concatenated in order.
func (s *Source) Load(spec string) (*Dataset, error) {
	parsed, err := ParseSplit(spec)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", s.Path, err)
	}
	read := map[string]*Dataset{}
	var parts []*Dataset
	for _, p := range parsed {
		ds, ok := read[p.Split]
		if !ok {
			files, err := s.Files(p.Split)
			if err != nil {
				return nil, err
			}
			var fileSets []*Dataset
			for _, f := range files {
				d, err := ReadFile(f)
				if err != nil {
					return nil, err
				}
				fileSets = append(fileSets, d)
			}
			ds = Concat(s.Path+" "+p.Split, fileSets...)
			read[p.Split] = ds
		}
		from, to, err := p.Bounds(ds.Len())
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", s.Path, err)
		}
		idx := make([]int, 0, to-from)
		for i := from; i < to; i++ {
			idx = append(idx, i)
		}
		parts = append(parts, ds.Select(s.Path+" "+p.String(), idx))
	}
	out := Concat(s.Path+" "+parsed.String(), parts...)
	return out, nil
}

// ReadFile reads one data file, chosen by extension: .jsonl/.json (optionally .gz), .parquet,
// .arrow.
func ReadFile(path string) (*Dataset, error) {
	switch fileFormat(path) {
	case "json":
		return readJSONFile(path)
	case "parquet":
		return readParquetFile(path)
	case "arrow":
		return readArrowFile(path)
	}
	return nil, fmt.Errorf("%s: unknown data file type; grpo reads .jsonl, .json, .jsonl.gz, .json.gz, .parquet and .arrow", path)
}

// fileFormat maps a file name to "json", "parquet", "arrow" or "" (not a data file).
func fileFormat(path string) string {
	l := strings.ToLower(path)
	switch {
	case strings.HasSuffix(l, ".jsonl"), strings.HasSuffix(l, ".jsonl.gz"), strings.HasSuffix(l, ".json.gz"):
		return "json"
	case strings.HasSuffix(l, ".json"):
		if isMetadataJSON(path) {
			return ""
		}
		return "json"
	case strings.HasSuffix(l, ".parquet"):
		return "parquet"
	case strings.HasSuffix(l, ".arrow"):
		return "arrow"
	}
	return ""
}

// isMetadataJSON names the JSON files of Hugging Face layouts that are not data.
func isMetadataJSON(path string) bool {
	switch filepath.Base(path) {
	case "dataset_info.json", "state.json", "dataset_dict.json", "dataset_infos.json":
		return true
	}
	return false
}

// splitAliases maps the split keywords Hugging Face datasets recognises in file and directory
// names (data_files.py SPLIT_KEYWORDS) to their canonical split.
var splitAliases = map[string]string{
	"train": "train", "training": "train",
	"validation": "validation", "valid": "validation", "val": "validation", "dev": "validation",
	"test": "test", "testing": "test", "eval": "test", "evaluation": "test",
}

func canonicalSplit(name string) string {
	if c, ok := splitAliases[strings.ToLower(name)]; ok {
		return c
	}
	return name
}

// Open resolves a dataset id or path (config dataset_id_or_path): a data file; a directory
// (save_to_disk output, a datasets builder cache directory, or any directory of data files, with
// splits taken from file and directory names); or a Hub id "org/name" found in the local
// Hugging Face caches ($HF_DATASETS_CACHE or $HF_HOME/datasets, then $HF_HUB_CACHE or
// $HF_HOME/hub). grpo never downloads.
func Open(idOrPath string) (*Source, error) {
	if idOrPath == "" {
		return nil, fmt.Errorf("no dataset given; set dataset_id_or_path to a file, a directory or a cached Hub dataset id")
	}
	st, err := os.Stat(idOrPath)
	switch {
	case err == nil && !st.IsDir():
		return openFile(idOrPath)
	case err == nil:
		return openDir(idOrPath)
	case !os.IsNotExist(err):
		return nil, fmt.Errorf("dataset %s: %w", idOrPath, err)
	}
	src, looked, err := openHubID(idOrPath)
	if err != nil || src != nil {
		return src, err
	}
	return nil, fmt.Errorf("dataset %q: no such file or directory, and no Hugging Face cache entry for it (looked in %s); grpo reads local data only: fetch it on a machine with network (datasets.load_dataset or `hf download --repo-type dataset`) and copy the cache or the files here", idOrPath, strings.Join(looked, ", "))
}

func openFile(path string) (*Source, error) {
	if fileFormat(path) == "" {
		_, err := ReadFile(path)
		return nil, err
	}
	name := "train"
	if s := splitFromName(path); s != "" {
		name = s
	}
	src := &Source{Path: path, Layout: "file", splits: map[string][]string{name: {path}}, order: []string{name}}
	if name != "train" { // a lone file also answers to "train", as load_dataset(data_files=...) names it
		src.splits["train"] = []string{path}
	}
	return src, nil
}

// openDir recognises the Hugging Face on-disk layouts before falling back to a plain directory.
func openDir(dir string) (*Source, error) {
	switch {
	case exists(filepath.Join(dir, "dataset_dict.json")):
		return openSaveToDiskDict(dir)
	case exists(filepath.Join(dir, "state.json")):
		return openSaveToDiskSplit(dir)
	case exists(filepath.Join(dir, "dataset_info.json")) && len(globFiles(dir, "*.arrow")) > 0:
		return openBuilderCache(dir)
	}
	return openPlainDir(dir, "directory")
}

// openPlainDir assigns every data file under dir to a split by its name, as load_dataset does
// for a directory: a file whose name (or nearest directory name) holds a split keyword
// ("train", "validation"/"valid"/"val"/"dev", "test"/"eval", split by - . _ space or digits)
// belongs to that split, and a Hub-style "NAME-00000-of-00002.ext" to split NAME. If no file
// names a split, all files form "train"; otherwise files naming none are ignored, as in datasets.
func openPlainDir(dir, layout string) (*Source, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || fileFormat(p) == "" {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 { // Hub snapshots link into blobs/
			if st, err := os.Stat(p); err != nil || st.IsDir() {
				return nil
			}
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dataset directory %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("dataset directory %s holds no data files (.jsonl, .json, .parquet, .arrow)", dir)
	}
	sort.Strings(files)
	src := &Source{Path: dir, Layout: layout, splits: map[string][]string{}}
	var unassigned []string
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		name := splitFromName(rel)
		if name == "" {
			unassigned = append(unassigned, f)
			continue
		}
		src.splits[name] = append(src.splits[name], f)
	}
	if len(src.splits) == 0 {
		src.splits["train"] = unassigned
	} else if len(unassigned) > 0 {
		slog.Warn("dataset files that name no split are ignored", "dir", dir, "files", unassigned)
	}
	src.order = orderSplits(src.splits)
	return src, nil
}

var shardNameRE = regexp.MustCompile(`^([\w.]+?)-\d{5}-of-\d{5}`)

// splitFromName finds the split a relative file path names: by the file name's keywords, then a
// Hub shard prefix ("NAME-00000-of-00001"), then the nearest directory named by a keyword.
func splitFromName(rel string) string {
	base := filepath.Base(rel)
	stem := base[:len(base)-len(dataExt(base))]
	if s := keywordSplit(stem); s != "" {
		return s
	}
	if m := shardNameRE.FindStringSubmatch(stem); m != nil && m[1] != "data" {
		return canonicalSplit(m[1])
	}
	dirs := strings.Split(filepath.ToSlash(filepath.Dir(rel)), "/")
	for i := len(dirs) - 1; i >= 0; i-- {
		if c, ok := splitAliases[strings.ToLower(dirs[i])]; ok {
			return c
		}
	}
	return ""
}

var keywordSepRE = regexp.MustCompile(`[-._ 0-9]+`)

func keywordSplit(stem string) string {
	for _, tok := range keywordSepRE.Split(stem, -1) {
		if c, ok := splitAliases[strings.ToLower(tok)]; ok {
			return c
		}
	}
	return ""
}

// dataExt returns the data extension of a file name, including a .gz suffix.
func dataExt(base string) string {
	l := strings.ToLower(base)
	for _, e := range []string{".jsonl.gz", ".json.gz", ".jsonl", ".json", ".parquet", ".arrow"} {
		if strings.HasSuffix(l, e) {
			return base[len(base)-len(e):]
		}
	}
	return filepath.Ext(base)
}

// orderSplits puts train, validation, test first, then the rest alphabetically.
func orderSplits(m map[string][]string) []string {
	rank := func(s string) int {
		switch s {
		case "train":
			return 0
		case "validation":
			return 1
		case "test":
			return 2
		}
		return 3
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := rank(out[i]), rank(out[j]); ri != rj {
			return ri < rj
		}
		return out[i] < out[j]
	})
	return out
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func globFiles(dir, pattern string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	sort.Strings(m)
	return m
}
