package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/grpo-dev/grpo/configs"
	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/rewards"
)

// The embedded default of `grpo run`: the demo (configs/demo, compiled into the binary by package
// configs) and the shipped reward plugins (package rewards) are extracted once into the user's
// cache directory, in the repository's layout (configs/..., rewards/*.wasm), under a name that
// is a hash of their contents; the run file's relative paths are then taken relative to that
// root. Plugins run from files (WASM modules are compiled from a path, process plugins are
// executables), so extracting beats teaching every loader about embedded files.

// embeddedRoot extracts the embedded files if needed and returns the directory holding them.
func embeddedRoot() (string, error) {
	sum, err := embeddedHash()
	if err != nil {
		return "", err
	}
	base, err := os.UserCacheDir()
	if err != nil || base == "" {
		base = os.TempDir()
	}
	root := filepath.Join(base, "grpo", "embedded-"+sum[:16])
	if _, err := os.Stat(filepath.Join(root, ".complete")); err == nil {
		return root, nil
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return "", fmt.Errorf("extracting the embedded demo: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(root), ".tmp-embedded-")
	if err != nil {
		return "", fmt.Errorf("extracting the embedded demo: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := extract(configs.FS, ".", filepath.Join(tmp, "configs")); err != nil {
		return "", err
	}
	if err := extract(rewards.WASM, ".", filepath.Join(tmp, "rewards")); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), []byte(sum+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, root); err != nil {
		if _, statErr := os.Stat(filepath.Join(root, ".complete")); statErr == nil {
			return root, nil // another grpo process extracted it first
		}
		return "", fmt.Errorf("extracting the embedded demo to %s: %w", root, err)
	}
	slog.Debug("embedded demo extracted", "dir", root)
	return root, nil
}

// embeddedHash is the SHA-256 of every embedded file's path and contents.
func embeddedHash() (string, error) {
	h := sha256.New()
	trees := []struct {
		name string
		fsys fs.FS
	}{{"configs", configs.FS}, {"rewards", rewards.WASM}}
	for _, tree := range trees {
		name, fsys := tree.name, tree.fsys
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			f, err := fsys.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			fmt.Fprintf(h, "%s/%s\x00", name, p)
			_, err = io.Copy(h, f)
			return err
		})
		if err != nil {
			return "", fmt.Errorf("reading the embedded demo: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// extract copies the tree under dir of fsys to dest.
func extract(fsys fs.FS, dir, dest string) error {
	return fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dest, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// resolveEmbeddedPaths makes the run file's repository-relative paths absolute under root:
// model_name_or_path and dataset_id_or_path, and reward plugins named rewards/NAME.wasm that do
// not exist relative to the working directory.
func resolveEmbeddedPaths(cfg *config.Config, root string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			return filepath.Join(root, p)
		}
		return p
	}
	if !strings.HasPrefix(cfg.Origin("model_name_or_path"), "command line") {
		cfg.ModelNameOrPath = abs(cfg.ModelNameOrPath)
	}
	if !strings.HasPrefix(cfg.Origin("dataset_id_or_path"), "command line") {
		cfg.DatasetIDOrPath = abs(cfg.DatasetIDOrPath)
	}
	resolveShippedPlugins(cfg, root)
}

// resolveShippedPlugins points reward plugins written as rewards/NAME.wasm at the embedded copy
// when no such file exists relative to the working directory (the README's command then works
// from any directory).
func resolveShippedPlugins(cfg *config.Config, root string) {
	for i, r := range cfg.Rewards {
		p := filepath.ToSlash(r.Plugin)
		if !strings.HasPrefix(p, "rewards/") || path.Ext(p) != ".wasm" {
			continue
		}
		if _, err := os.Stat(r.Plugin); err == nil {
			continue
		}
		if _, err := fs.Stat(rewards.WASM, strings.TrimPrefix(p, "rewards/")); err != nil {
			continue
		}
		cfg.Rewards[i].Plugin = filepath.Join(root, filepath.FromSlash(p))
		slog.Info("reward plugin not found in the working directory; using the copy shipped in grpo", "plugin", r.Plugin)
	}
}
