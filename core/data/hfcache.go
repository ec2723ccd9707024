package data

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// This file reads the on-disk layouts of Hugging Face datasets (the library is Python-only, so
// the layouts are read here by hand from their JSON metadata; the Arrow files themselves go
// through arrow-go):
//   - Dataset.save_to_disk:      DIR/state.json + DIR/data-00000-of-0000N.arrow
//   - DatasetDict.save_to_disk:  DIR/dataset_dict.json {"splits": [...]} + DIR/<split>/ as above
//   - the builder cache:         $HF_DATASETS_CACHE/<org>___<name>/<config>/<version>/<hash>/
//                                with dataset_info.json and <name>-<split>[-00000-of-0000N].arrow
//   - a Hub snapshot:            $HF_HUB_CACHE/datasets--<org>--<name>/snapshots/<rev>/ (raw files)

// openSaveToDiskDict reads a DatasetDict.save_to_disk directory.
func openSaveToDiskDict(dir string) (*Source, error) {
	var dd struct {
		Splits []string `json:"splits"`
	}
	if err := readJSON(filepath.Join(dir, "dataset_dict.json"), &dd); err != nil {
		return nil, err
	}
	if len(dd.Splits) == 0 {
		return nil, fmt.Errorf("%s: lists no splits", filepath.Join(dir, "dataset_dict.json"))
	}
	src := &Source{Path: dir, Layout: "save_to_disk", splits: map[string][]string{}}
	for _, s := range dd.Splits {
		files, err := stateFiles(filepath.Join(dir, s))
		if err != nil {
			return nil, err
		}
		src.splits[s] = files
		src.order = append(src.order, s)
	}
	return src, nil
}

// openSaveToDiskSplit reads a Dataset.save_to_disk directory: one split, named by state.json's
// "_split" (or "train" when it is null).
func openSaveToDiskSplit(dir string) (*Source, error) {
	files, err := stateFiles(dir)
	if err != nil {
		return nil, err
	}
	var st struct {
		Split *string `json:"_split"`
	}
	if err := readJSON(filepath.Join(dir, "state.json"), &st); err != nil {
		return nil, err
	}
	name := "train"
	if st.Split != nil && *st.Split != "" {
		name = *st.Split
	}
	src := &Source{Path: dir, Layout: "save_to_disk", splits: map[string][]string{name: files}, order: []string{name}}
	if name != "train" {
		src.splits["train"] = files // a lone split also answers to "train"
	}
	return src, nil
}

// stateFiles lists the Arrow files named by DIR/state.json's "_data_files".
func stateFiles(dir string) ([]string, error) {
	var st struct {
		DataFiles []struct {
			Filename string `json:"filename"`
		} `json:"_data_files"`
		Indices any `json:"_indices"`
	}
	p := filepath.Join(dir, "state.json")
	if err := readJSON(p, &st); err != nil {
		return nil, err
	}
	if st.Indices != nil {
		return nil, fmt.Errorf("%s: the dataset was saved with an indices mapping, which grpo does not read; save it again after ds.flatten_indices()", p)
	}
	if len(st.DataFiles) == 0 {
		return nil, fmt.Errorf("%s: lists no _data_files", p)
	}
	var files []string
	for _, f := range st.DataFiles {
		fp := filepath.Join(dir, f.Filename)
		if !exists(fp) {
			return nil, fmt.Errorf("%s names %s, which is missing", p, fp)
		}
		files = append(files, fp)
	}
	return files, nil
}

// openBuilderCache reads a datasets builder cache directory: the splits of dataset_info.json,
// each in "<name>-<split>.arrow" or shards "<name>-<split>-00000-of-00003.arrow".
func openBuilderCache(dir string) (*Source, error) {
	var info struct {
		Splits map[string]json.RawMessage `json:"splits"`
	}
	if err := readJSON(filepath.Join(dir, "dataset_info.json"), &info); err != nil {
		return nil, err
	}
	arrows := globFiles(dir, "*.arrow")
	src := &Source{Path: dir, Layout: "datasets-cache", splits: map[string][]string{}}
	for split := range info.Splits {
		re := regexp.MustCompile(`-` + regexp.QuoteMeta(split) + `(-\d{5}-of-\d{5})?\.arrow$`)
		for _, f := range arrows { // globFiles sorts, so shards come in order
			if re.MatchString(filepath.Base(f)) {
				src.splits[split] = append(src.splits[split], f)
			}
		}
		if len(src.splits[split]) == 0 {
			return nil, fmt.Errorf("%s: dataset_info.json lists split %q but no *-%s.arrow file is there; the cache is incomplete, load the dataset again with datasets", dir, split, split)
		}
	}
	if len(src.splits) == 0 {
		return nil, fmt.Errorf("%s: dataset_info.json lists no splits", dir)
	}
	src.order = orderSplits(src.splits)
	return src, nil
}

var hubIDRE = regexp.MustCompile(`^[\w.-]+(/[\w.-]+)?$`)

// openHubID looks a Hub dataset id up in the local caches: first the datasets builder cache
// (already converted to Arrow), then the hub snapshot of the raw files. It returns the places
// looked in when nothing is found.
func openHubID(id string) (*Source, []string, error) {
	if !hubIDRE.MatchString(id) {
		return nil, nil, nil
	}
	hfHome := os.Getenv("HF_HOME")
	if hfHome == "" {
		if home, err := os.UserHomeDir(); err == nil {
			hfHome = filepath.Join(home, ".cache", "huggingface")
		}
	}
	dsCache := envOr("HF_DATASETS_CACHE", filepath.Join(hfHome, "datasets"))
	hubCache := envOr("HF_HUB_CACHE", filepath.Join(hfHome, "hub"))
	org, name, hasOrg := strings.Cut(id, "/")
	if !hasOrg {
		org, name = "", id
	}

	builderName := name
	if hasOrg {
		builderName = org + "___" + name
	}
	if d := findDirFold(dsCache, builderName); d != "" {
		leaf, err := newestBuilderDir(d)
		if err != nil {
			return nil, nil, err
		}
		slog.Info("dataset found in the datasets cache", "id", id, "dir", leaf)
		src, err := openBuilderCache(leaf)
		return src, nil, err
	}

	repoDir := filepath.Join(hubCache, "datasets--"+strings.ReplaceAll(id, "/", "--"))
	if exists(repoDir) {
		snap, err := hubSnapshot(repoDir)
		if err != nil {
			return nil, nil, err
		}
		slog.Info("dataset found in the hub cache", "id", id, "dir", snap)
		src, err := openPlainDir(snap, "hub-snapshot")
		return src, nil, err
	}
	return nil, []string{filepath.Join(dsCache, builderName), repoDir}, nil
}

// newestBuilderDir walks <config>/<version>/<hash> below a builder directory. A single config is
// taken, else "default"; the highest version; the most recently written hash directory.
func newestBuilderDir(dir string) (string, error) {
	configs := subdirs(dir)
	var config string
	switch {
	case len(configs) == 1:
		config = configs[0]
	case slices.Contains(configs, "default"):
		config = "default"
	case len(configs) == 0:
		return "", fmt.Errorf("datasets cache %s is empty", dir)
	default:
		return "", fmt.Errorf("datasets cache %s holds configs %s; set dataset_id_or_path to the one you want, e.g. %s", dir, strings.Join(configs, ", "), filepath.Join(dir, configs[0]))
	}
	cdir := filepath.Join(dir, config)
	versions := subdirs(cdir)
	if len(versions) == 0 {
		return "", fmt.Errorf("datasets cache %s holds no version directory", cdir)
	}
	sort.Slice(versions, func(i, j int) bool { return versionLess(versions[i], versions[j]) })
	vdir := filepath.Join(cdir, versions[len(versions)-1])
	var best string
	var bestTime int64
	for _, h := range subdirs(vdir) {
		st, err := os.Stat(filepath.Join(vdir, h, "dataset_info.json"))
		if err != nil {
			continue
		}
		if t := st.ModTime().UnixNano(); best == "" || t > bestTime {
			best, bestTime = h, t
		}
	}
	if best == "" {
		return "", fmt.Errorf("datasets cache %s holds no complete entry (no dataset_info.json)", vdir)
	}
	return filepath.Join(vdir, best), nil
}

// hubSnapshot picks the snapshot that refs/main points to, else the only (or newest) one.
func hubSnapshot(repoDir string) (string, error) {
	if b, err := os.ReadFile(filepath.Join(repoDir, "refs", "main")); err == nil {
		if p := filepath.Join(repoDir, "snapshots", strings.TrimSpace(string(b))); exists(p) {
			return p, nil
		}
	}
	snaps := subdirs(filepath.Join(repoDir, "snapshots"))
	if len(snaps) == 0 {
		return "", fmt.Errorf("hub cache %s holds no snapshot", repoDir)
	}
	var best string
	var bestTime int64
	for _, s := range snaps {
		st, err := os.Stat(filepath.Join(repoDir, "snapshots", s))
		if err == nil && (best == "" || st.ModTime().UnixNano() > bestTime) {
			best, bestTime = s, st.ModTime().UnixNano()
		}
	}
	return filepath.Join(repoDir, "snapshots", best), nil
}

func subdirs(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// findDirFold finds a subdirectory of root by name, exactly or ignoring case (the datasets cache
// lower-cases names).
func findDirFold(root, name string) string {
	if p := filepath.Join(root, name); isDir(p) {
		return p
	}
	for _, d := range subdirs(root) {
		if strings.EqualFold(d, name) {
			return filepath.Join(root, d)
		}
	}
	return ""
}

// versionLess orders dotted numeric versions ("0.0.0" < "1.2.0" < "1.10.0").
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		var x, y int
		_, ex := fmt.Sscan(pa[i], &x)
		_, ey := fmt.Sscan(pb[i], &y)
		if ex != nil || ey != nil {
			if pa[i] != pb[i] {
				return pa[i] < pb[i]
			}
			continue
		}
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read dataset metadata: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: invalid JSON: %w", path, err)
	}
	return nil
}
