package hf

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// isolateEnv points every Hugging Face variable at a fresh home so no test touches real caches.
func isolateEnv(t *testing.T) string {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, k := range []string{"HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE", "XDG_CACHE_HOME",
		"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"} {
		t.Setenv(k, "")
	}
	return home
}

func writeModelFiles(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(qwen2Config), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteCheckpoint(dir, []WriteTensor{floatTensor("w", F32, []int{1}, []float32{1})}, 0); err != nil {
		t.Fatal(err)
	}
}

func TestResolveLocalDirectory(t *testing.T) {
	isolateEnv(t)
	dir := t.TempDir()
	writeModelFiles(t, dir)
	got, err := Resolve(context.Background(), dir, ResolveOptions{})
	if err != nil || got != dir {
		t.Fatalf("Resolve(%s) = %q, %v", dir, got, err)
	}
	if _, err := Resolve(context.Background(), t.TempDir(), ResolveOptions{}); err == nil || !strings.Contains(err.Error(), "has no config.json") {
		t.Fatalf("dir without config: %v", err)
	}
	if _, err := Resolve(context.Background(), "./no/such/dir", ResolveOptions{}); err == nil || !strings.Contains(err.Error(), "no such directory") {
		t.Fatalf("missing path: %v", err)
	}
}

func TestResolveFindsCachedSnapshot(t *testing.T) {
	for _, env := range []string{"HF_HOME", "TRANSFORMERS_CACHE", "HF_HUB_CACHE"} {
		t.Run(env, func(t *testing.T) {
			isolateEnv(t)
			root := t.TempDir()
			t.Setenv(env, root)
			hubDir := root
			if env == "HF_HOME" {
				hubDir = filepath.Join(root, "hub")
			}
			repo := filepath.Join(hubDir, "models--Qwen--Qwen2.5-0.5B-Instruct")
			commit := strings.Repeat("ab", 20)
			snap := filepath.Join(repo, "snapshots", commit)
			writeModelFiles(t, snap)
			os.MkdirAll(filepath.Join(repo, "refs"), 0o755)
			os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(commit+"\n"), 0o644)
			got, err := Resolve(context.Background(), "Qwen/Qwen2.5-0.5B-Instruct", ResolveOptions{Offline: true})
			if err != nil || got != snap {
				t.Fatalf("got %q, %v; want %s", got, err, snap)
			}
			// A commit revision is found without refs.
			if got, err := Resolve(context.Background(), "Qwen/Qwen2.5-0.5B-Instruct", ResolveOptions{Revision: commit, Offline: true}); err != nil || got != snap {
				t.Fatalf("by commit: %q, %v", got, err)
			}
		})
	}
}

func TestResolveOfflineMissingSaysWhereItLooked(t *testing.T) {
	home := isolateEnv(t)
	t.Setenv("HF_HUB_OFFLINE", "1")
	_, err := Resolve(context.Background(), "org/absent", ResolveOptions{})
	if err == nil || !strings.Contains(err.Error(), "org/absent") || !strings.Contains(err.Error(), filepath.Join(home, ".cache", "huggingface", "hub")) {
		t.Fatalf("offline error: %v", err)
	}
}

// fakeHub serves the two Hub endpoints go-huggingface uses: the revision info
// (/api/models/{id}/revision/{rev}) and file resolution (/{id}/resolve/{commit}/{file}, HEAD and
// GET), requiring a bearer token.
type fakeHub struct {
	id, commit, token string
	files             map[string][]byte
	mu                sync.Mutex
	gets              map[string]int
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+h.token {
		http.Error(w, `{"error":"Invalid credentials"}`, http.StatusUnauthorized)
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/models/"+h.id+"/revision/"):
		var sib []map[string]any
		for n, d := range h.files {
			sib = append(sib, map[string]any{"rfilename": n, "size": len(d)})
		}
		json.NewEncoder(w).Encode(map[string]any{"id": h.id, "sha": h.commit, "siblings": sib})
	case strings.HasPrefix(r.URL.Path, "/"+h.id+"/resolve/"+h.commit+"/"):
		name := strings.TrimPrefix(r.URL.Path, "/"+h.id+"/resolve/"+h.commit+"/")
		data, ok := h.files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		sum := sha256.Sum256(data)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.Header().Set("X-Repo-Commit", h.commit)
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		if r.Method == http.MethodGet {
			h.mu.Lock()
			h.gets[name]++
			h.mu.Unlock()
			w.Write(data)
		}
	default:
		http.NotFound(w, r)
	}
}

func TestResolveDownloadsShardedModelIntoCache(t *testing.T) {
	isolateEnv(t)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, ConfigFile), []byte(qwen2Config), 0o644)
	var tensors []WriteTensor
	for i := range 3 {
		tensors = append(tensors, floatTensor(fmt.Sprintf("t%d", i), F32, []int{4}, []float32{float32(i), 1, 2, 3}))
	}
	if err := WriteCheckpoint(src, tensors, 20); err != nil {
		t.Fatal(err)
	}
	h := &fakeHub{id: "org/tiny", commit: strings.Repeat("c0", 20), token: "secret", files: map[string][]byte{}, gets: map[string]int{}}
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		h.files[e.Name()], _ = os.ReadFile(filepath.Join(src, e.Name()))
	}
	h.files["tokenizer.json"] = []byte(`{"model":{}}`)
	h.files["pytorch_model.bin"] = []byte("not wanted")
	srv := httptest.NewServer(h)
	defer srv.Close()
	hfHome := t.TempDir()
	t.Setenv("HF_HOME", hfHome)
	t.Setenv("HF_ENDPOINT", srv.URL)

	// Without the token the download fails, and the error says why.
	if _, err := Resolve(context.Background(), "org/tiny", ResolveOptions{}); err == nil || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Fatalf("unauthenticated download: %v", err)
	}
	t.Setenv("HF_TOKEN", "secret")
	dir, err := Resolve(context.Background(), "org/tiny", ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(hfHome, "hub", "models--org--tiny", "snapshots", h.commit)
	if dir != want {
		t.Fatalf("snapshot %s, want %s", dir, want)
	}
	ref, _ := os.ReadFile(filepath.Join(hfHome, "hub", "models--org--tiny", "refs", "main"))
	if string(ref) != h.commit {
		t.Errorf("refs/main = %q", ref)
	}
	ck, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ck.ReadFloat32("t2")
	ck.Close()
	if err != nil || v[0] != 2 {
		t.Fatalf("t2 = %v %v", v, err)
	}
	if h.gets["pytorch_model.bin"] != 0 || h.gets["tokenizer.json"] != 1 {
		t.Errorf("downloads: %v", h.gets)
	}
	// A second resolve is served from the cache, offline.
	t.Setenv("HF_HUB_OFFLINE", "1")
	if again, err := Resolve(context.Background(), "org/tiny", ResolveOptions{}); err != nil || again != dir {
		t.Fatalf("cached resolve: %q %v", again, err)
	}
}
