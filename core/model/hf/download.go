package hf

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/go-huggingface/hub"
)

// download fetches the files of model id that grpo needs (config, generation config, safetensors
// weights, tokenizer files) into the hub cache, with go-huggingface's hub package: it keeps the
// huggingface_hub layout (blobs/ + snapshots/<commit>/ symlinks) and locks files against
// concurrent downloads. It then records refs/<revision> as huggingface_hub does, so later runs
// (and Python tools) find the snapshot without the network.
func download(ctx context.Context, id, cache string, opts ResolveOptions) (string, error) {
	repo := hub.New(id).WithCacheDir(cache).WithEndpoint(opts.Endpoint).WithRevision(opts.Revision).WithAuth(opts.Token)
	repo.Verbosity = 0
	var names []string
	for name, err := range repo.IterFileNames() {
		if err != nil {
			return "", fmt.Errorf("listing the files of %s: %w", id, err)
		}
		names = append(names, name)
	}
	want, err := filesToDownload(id, names)
	if err != nil {
		return "", err
	}
	// Download the small files first: the index says which shards are needed.
	if slices.Contains(want, WeightsIndexFile) && !slices.Contains(want, SingleWeightsFile) {
		paths, err := repo.DownloadFilesCtx(ctx, WeightsIndexFile)
		if err != nil {
			return "", err
		}
		shards, err := indexShards(paths[0])
		if err != nil {
			return "", err
		}
		for _, s := range shards {
			if !slices.Contains(names, s) {
				return "", fmt.Errorf("%s of %s lists shard %s, which the repository does not have", WeightsIndexFile, id, s)
			}
		}
		want = append(want, shards...)
	}
	paths, err := repo.DownloadFilesCtx(ctx, want...)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(paths[slices.Index(want, ConfigFile)])
	if !commitPattern.MatchString(opts.Revision) {
		refs := filepath.Join(cache, repoFolder(id), "refs")
		if err := os.MkdirAll(refs, 0o755); err != nil {
			return "", fmt.Errorf("recording the downloaded revision: %w", err)
		}
		if err := WriteFileAtomic(filepath.Join(refs, opts.Revision), []byte(filepath.Base(dir))); err != nil {
			return "", fmt.Errorf("recording the downloaded revision: %w", err)
		}
	}
	if !weightsComplete(dir) {
		return "", fmt.Errorf("download of %s into %s finished but its weights are incomplete", id, dir)
	}
	return dir, nil
}

// filesToDownload picks, from a repository listing, the files a decoder needs: config.json,
// generation_config.json, the tokenizer files, and model.safetensors or the index (whose shards
// are added once it is read).
func filesToDownload(id string, names []string) ([]string, error) {
	if !slices.Contains(names, ConfigFile) {
		return nil, fmt.Errorf("repository %s has no %s: not a transformers model", id, ConfigFile)
	}
	want := []string{ConfigFile}
	for _, n := range append([]string{GenerationConfigFile}, TokenizerFiles...) {
		if slices.Contains(names, n) {
			want = append(want, n)
		}
	}
	switch {
	case slices.Contains(names, SingleWeightsFile):
		want = append(want, SingleWeightsFile)
	case slices.Contains(names, WeightsIndexFile):
		want = append(want, WeightsIndexFile)
	default:
		var other []string
		for _, n := range names {
			if strings.HasSuffix(n, ".bin") || strings.HasSuffix(n, ".pth") || strings.HasSuffix(n, ".gguf") {
				other = append(other, n)
			}
		}
		return nil, fmt.Errorf("repository %s has no safetensors weights (%s or %s; it has %v): grpo reads safetensors only",
			id, SingleWeightsFile, WeightsIndexFile, other)
	}
	return want, nil
}

// indexShards returns the distinct shard files of a model.safetensors.index.json, sorted.
func indexShards(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", path, err)
	}
	var shards []string
	for _, s := range idx.WeightMap {
		if !slices.Contains(shards, s) {
			shards = append(shards, s)
		}
	}
	slices.Sort(shards)
	return shards, nil
}
