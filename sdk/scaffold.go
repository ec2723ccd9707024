// Package sdk embeds the plugin SDK sources so that `grpo plugin new` can start a plugin project
// anywhere, offline: Scaffold writes the has-answer example of the chosen language under a new
// name, with the SDK vendored next to it, a build script and sample data.
//
// The SDKs themselves live beside this file: wire/ (the JSON messages), go/grpowasm, c/grpo.h,
// rust/ (crate grpo-sdk) and assemblyscript/assembly/grpo.ts; ABI.md documents the ABI.
package sdk

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

//go:embed wire/wire.go go/grpowasm/grpowasm.go go/grpowasm/exports_wasip1.go go/grpowasm/log_other.go
//go:embed go/example/main.go c/grpo.h c/example/has_answer.c
//go:embed rust/Cargo.toml rust/src/lib.rs rust/example/Cargo.toml rust/example/src/lib.rs rust/example/build.sh
//go:embed assemblyscript/assembly/grpo.ts assemblyscript/example/index.ts
//go:embed testdata/has_answer.jsonl
var files embed.FS

// Languages that Scaffold supports.
var Languages = []string{"go", "c", "rust", "assemblyscript"}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// Scaffold creates dir/ (which must not exist) holding a new reward plugin called name in lang.
// The project builds with ./build.sh into name.wasm, and `grpo reward --plugin name.wasm --data
// data.jsonl` scores its sample rows.
func Scaffold(dir, lang, name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("plugin name %q: use lower-case letters, digits and dashes, starting with a letter", name)
	}
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s already exists: choose another name or remove it", dir)
	}
	rename := func(s string) string { return strings.ReplaceAll(s, "has-answer", name) }
	out := map[string]string{"data.jsonl": read("testdata/has_answer.jsonl")}
	build := "#!/usr/bin/env bash\n# Builds " + name + ".wasm.\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\n"
	switch lang {
	case "go":
		out["main.go"] = rename(strings.Replace(read("go/example/main.go"), "Command example is has-answer", "Command "+name+" is "+name, 1))
		out["go.mod"] = "module example.com/" + name + "\n\ngo 1.24\n\nrequire github.com/grpo-dev/grpo v0.0.0-00010101000000-000000000000\n\n" +
			"// The grpo SDK (sdk/wire, sdk/go/grpowasm), vendored by grpo plugin new.\nreplace github.com/grpo-dev/grpo => ./third_party/grpo\n"
		out["third_party/grpo/go.mod"] = "module github.com/grpo-dev/grpo\n\ngo 1.24\n"
		for _, f := range []string{"wire/wire.go", "go/grpowasm/grpowasm.go", "go/grpowasm/exports_wasip1.go", "go/grpowasm/log_other.go"} {
			out["third_party/grpo/sdk/"+f] = read(f)
		}
		build += "GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o \"${1:-" + name + ".wasm}\" .\n"
	case "c":
		out[name+".c"] = rename(read("c/example/has_answer.c"))
		out["grpo.h"] = read("c/grpo.h")
		build += "# needs clang, lld and wasi-libc (Debian: apt install clang lld wasi-libc libclang-rt-14-dev-wasm32)\n" +
			"clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -Wl,--strip-all -I. -o \"${1:-" + name + ".wasm}\" " + name + ".c\n"
	case "rust":
		out["src/lib.rs"] = rename(read("rust/example/src/lib.rs"))
		out["Cargo.toml"] = strings.Replace(strings.Replace(read("rust/example/Cargo.toml"), `name = "has-answer"`, `name = "`+name+`"`, 1),
			`path = ".."`, `path = "third_party/grpo-sdk"`, 1)
		out["third_party/grpo-sdk/Cargo.toml"] = read("rust/Cargo.toml")
		out["third_party/grpo-sdk/src/lib.rs"] = read("rust/src/lib.rs")
		build = strings.ReplaceAll(read("rust/example/build.sh"), "has_answer", strings.ReplaceAll(name, "-", "_"))
		build = strings.Replace(build, `out="${1:-`+strings.ReplaceAll(name, "-", "_")+`.wasm}"`, `out="${1:-`+name+`.wasm}"`, 1)
	case "assemblyscript":
		out["index.ts"] = rename(strings.ReplaceAll(read("assemblyscript/example/index.ts"), "../assembly/grpo", "./grpo"))
		out["grpo.ts"] = read("assemblyscript/assembly/grpo.ts")
		out["package.json"] = `{
  "name": "` + name + `",
  "version": "1.0.0",
  "private": true,
  "scripts": { "build": "asc index.ts -O3 --runtime incremental --noAssert -o ` + name + `.wasm" },
  "devDependencies": { "assemblyscript": "0.28.20" }
}
`
		build += "# npm install (once) provides asc; ASC=/path/to/asc overrides\nasc=\"${ASC:-}\"\n" +
			"[ -n \"$asc\" ] || { [ -x node_modules/.bin/asc ] && asc=node_modules/.bin/asc; } || true\n" +
			"[ -n \"$asc\" ] || asc=\"npx asc\"\n$asc index.ts -O3 --runtime incremental --noAssert -o \"${1:-" + name + ".wasm}\"\n"
	default:
		return fmt.Errorf("language %q: want one of %s", lang, strings.Join(Languages, ", "))
	}
	out["build.sh"] = build
	out["README.md"] = readme(lang, name)
	for rel, content := range out {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if rel == "build.sh" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			return err
		}
	}
	return nil
}

func read(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("sdk: embedded file missing: " + name) // the embed list above is wrong
	}
	return string(b)
}

func readme(lang, name string) string {
	return "# " + name + "\n\nA grpo reward plugin (" + lang + ", grpo-wasm ABI v1). It starts as the SDK example:\n" +
		"1 if the completion contains the row's `answer` column, 0 if not, no score without an answer.\n\n" +
		"```sh\n./build.sh                                              # → " + name + ".wasm\n" +
		"grpo reward --plugin " + name + ".wasm --data data.jsonl   # one JSON line per row\n" +
		"grpo plugin inspect " + name + ".wasm                       # exports, ABI version, describe\n```\n\n" +
		"Then edit the scoring function. The SDK is vendored here; the ABI is documented in the grpo\n" +
		"repository's sdk/ABI.md. Use the plugin in training with `[[rewards]] plugin = \"" + name + ".wasm\"`.\n"
}
