package hf

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ResolveOptions tune Resolve. Zero values take the environment, as huggingface_hub does.
type ResolveOptions struct {
	Revision string // branch, tag or commit; default "main"
	// Token authenticates downloads; default $HF_TOKEN, $HUGGING_FACE_HUB_TOKEN, or $HF_HOME/token.
	Token string
	// Endpoint of the Hub; default $HF_ENDPOINT or https://huggingface.co.
	Endpoint string
	// CacheDir is the hub cache to download into; default the first of $HF_HUB_CACHE,
	// $HUGGINGFACE_HUB_CACHE, $TRANSFORMERS_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub,
	// ~/.cache/huggingface/hub. Every one of them that exists is searched before downloading.
	CacheDir string
	// Offline forbids downloads; default true when $HF_HUB_OFFLINE or $TRANSFORMERS_OFFLINE is 1.
	Offline bool
}

var repoIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$`)

var commitPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Resolve turns model_name_or_path into a local model directory: an existing directory is used
// as is; a Hub id ("Qwen/Qwen2.5-0.5B-Instruct") is looked up in the Hugging Face caches
// (models--Qwen--Qwen2.5-0.5B-Instruct/snapshots/<commit>, the commit read from refs/<revision>),
// and downloaded into the cache when absent and downloads are allowed.
func Resolve(ctx context.Context, nameOrPath string, opts ResolveOptions) (string, error) {
	if nameOrPath == "" {
		return "", fmt.Errorf("model_name_or_path is empty: give a model directory or a Hugging Face id such as Qwen/Qwen2.5-0.5B-Instruct")
	}
	if st, err := os.Stat(nameOrPath); err == nil {
		if !st.IsDir() {
			return "", fmt.Errorf("model path %s is a file; give the model directory holding config.json", nameOrPath)
		}
		if _, err := os.Stat(filepath.Join(nameOrPath, ConfigFile)); err != nil {
			return "", fmt.Errorf("model directory %s has no %s: it is not a Hugging Face model directory", nameOrPath, ConfigFile)
		}
		return filepath.Abs(nameOrPath)
	}
	if looksLikePath(nameOrPath) || !repoIDPattern.MatchString(nameOrPath) {
		return "", fmt.Errorf("model %q: no such directory, and it is not a Hugging Face id (org/name)", nameOrPath)
	}
	opts = withEnvDefaults(opts)
	caches := cacheDirs()
	if opts.CacheDir != "" {
		caches = append([]string{opts.CacheDir}, caches...)
	}
	for _, cache := range caches {
		if dir, ok := cachedSnapshot(cache, nameOrPath, opts.Revision); ok {
			return dir, nil
		}
	}
	if opts.Offline {
		return "", fmt.Errorf("model %s (revision %s) is not in the Hugging Face cache (searched %s) and downloads are off (HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE); download it or give a local directory",
			nameOrPath, opts.Revision, strings.Join(caches, ", "))
	}
	target := opts.CacheDir
	if target == "" {
		target = caches[0]
	}
	dir, err := download(ctx, nameOrPath, target, opts)
	if err != nil {
		hint := ""
		if opts.Token == "" {
			hint = " (gated or private models need HF_TOKEN)"
		}
		return "", fmt.Errorf("model %s is not in the Hugging Face cache (searched %s) and downloading it from %s failed%s: %w",
			nameOrPath, strings.Join(caches, ", "), opts.Endpoint, hint, err)
	}
	return dir, nil
}

func looksLikePath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~") ||
		strings.Count(s, "/") > 1 || strings.Contains(s, `\`)
}

func withEnvDefaults(o ResolveOptions) ResolveOptions {
	if o.Revision == "" {
		o.Revision = "main"
	}
	if o.Endpoint == "" {
		o.Endpoint = strings.TrimSuffix(os.Getenv("HF_ENDPOINT"), "/")
	}
	if o.Endpoint == "" {
		o.Endpoint = "https://huggingface.co"
	}
	if o.Token == "" {
		o.Token = firstEnv("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
	}
	if o.Token == "" {
		if data, err := os.ReadFile(filepath.Join(hfHome(), "token")); err == nil {
			o.Token = strings.TrimSpace(string(data))
		}
	}
	if isTrue(os.Getenv("HF_HUB_OFFLINE")) || isTrue(os.Getenv("TRANSFORMERS_OFFLINE")) {
		o.Offline = true
	}
	return o
}

func isTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func firstEnv(keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			return v
		}
	}
	return ""
}

// hfHome is $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface
// (huggingface_hub constants.HF_HOME).
func hfHome() string {
	if h := os.Getenv("HF_HOME"); h != "" {
		return h
	}
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(x, "huggingface")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "huggingface")
}

// cacheDirs lists the hub caches in the order they are searched (and the first is the default
// download target).
func cacheDirs() []string {
	var dirs []string
	add := func(d string) {
		if d == "" {
			return
		}
		d = filepath.Clean(d)
		for _, e := range dirs {
			if e == d {
				return
			}
		}
		dirs = append(dirs, d)
	}
	add(os.Getenv("HF_HUB_CACHE"))
	add(os.Getenv("HUGGINGFACE_HUB_CACHE"))
	add(os.Getenv("TRANSFORMERS_CACHE"))
	add(filepath.Join(hfHome(), "hub"))
	home, _ := os.UserHomeDir()
	add(filepath.Join(home, ".cache", "huggingface", "hub"))
	return dirs
}

// repoFolder is the cache folder of a model repo: models--org--name.
func repoFolder(id string) string {
	return "models--" + strings.ReplaceAll(id, "/", "--")
}

// cachedSnapshot returns the snapshot directory of id at revision in cache if it holds a config
// and complete weights.
func cachedSnapshot(cache, id, revision string) (string, bool) {
	repo := filepath.Join(cache, repoFolder(id))
	commit := revision
	if !commitPattern.MatchString(revision) {
		data, err := os.ReadFile(filepath.Join(repo, "refs", revision))
		if err != nil {
			return "", false
		}
		commit = strings.TrimSpace(string(data))
	}
	dir := filepath.Join(repo, "snapshots", commit)
	if !exists(filepath.Join(dir, ConfigFile)) || !weightsComplete(dir) {
		return "", false
	}
	return dir, true
}

// weightsComplete reports whether dir holds model.safetensors, or an index whose shards all exist.
func weightsComplete(dir string) bool {
	if exists(filepath.Join(dir, SingleWeightsFile)) {
		return true
	}
	shards, err := indexShards(filepath.Join(dir, WeightsIndexFile))
	if err != nil || len(shards) == 0 {
		return false
	}
	for _, s := range shards {
		if !exists(filepath.Join(dir, s)) {
			return false
		}
	}
	return true
}
