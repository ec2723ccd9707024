package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Composer builds a Config from a run file, the group files it names and command-line
// overrides, like RLT's Hydra tree (cfgs/train.yaml with `_global_` groups):
//
//	defaults < trainer < model < data < distributed < run file < key=value overrides
//
// A run file (or an override) selects a group file with `trainer = "NAME"`, `model = "NAME"`,
// `data = "NAME"` or `distributed = "NAME"`; NAME resolves to <root>/<group>/NAME.toml, or is a
// path when it ends in .toml or contains a '/' (relative to the file naming it, or to the
// working directory for an override). Group files hold plain keys; they cannot select groups.
type Composer struct {
	// ConfigDirs are config roots searched first for group files (`grpo --config-dir`,
	// GRPO_CONFIG_DIR). After them come the directory above the run file's own (so
	// configs/run/x.toml finds configs/model/) and ./configs.
	ConfigDirs []string
}

// Load composes runFile ("" = defaults only) with overrides using the default search path.
// Problems in any file or override are returned together as ValidationErrors. Load does not
// run Validate.
func Load(runFile string, overrides ...string) (*Config, error) {
	return Composer{}.Load(runFile, overrides...)
}

// groupChoice is the file selected for one group, and who selected it.
type groupChoice struct {
	name  string // NAME or path as written
	where string // "configs/run/x.toml:3" or "command line `model=...`"
	base  string // directory relative paths are resolved against
}

// Load composes runFile ("" = defaults only) with overrides.
func (cp Composer) Load(runFile string, overrides ...string) (*Config, error) {
	var problems ValidationErrors
	add := func(p *Problem) {
		if p != nil {
			problems = append(problems, *p)
		}
	}

	var ovs []override
	for _, s := range overrides {
		o, p := parseOverride(s)
		add(p)
		if p == nil {
			ovs = append(ovs, o)
		}
	}

	choices := map[string]groupChoice{}
	var run *document
	if runFile != "" {
		d, p := readDocument(runFile, "run file")
		add(p)
		run = d
	}
	if run != nil {
		for _, k := range run.topKeys() {
			if !isGroupKey(k) {
				continue
			}
			var name string
			if err := run.md.PrimitiveDecode(run.prims[k], &name); err != nil {
				add(&Problem{Where: run.where(k), Key: k, Msg: fmt.Sprintf(
					"%s: expected the name of a file in configs/%s/ (a string), got %s", k, k,
					describeTOMLType(run.md.Type(k)))})
				continue
			}
			choices[k] = groupChoice{name: name, where: run.where(k), base: filepath.Dir(runFile)}
		}
	}
	for _, o := range ovs {
		if isGroupKey(o.path[0]) {
			if o.null {
				delete(choices, o.path[0])
				continue
			}
			choices[o.path[0]] = groupChoice{name: o.value.(string), where: cliWhere(o.text), base: "."}
		}
	}

	c := Default()
	for _, g := range groupKeys {
		ch, ok := choices[g]
		if !ok || ch.name == "" {
			continue
		}
		path, p := cp.resolve(g, ch, runFile)
		if p != nil {
			add(p)
			continue
		}
		d, p := readDocument(path, g+" file")
		if p != nil {
			add(p)
			continue
		}
		for _, p := range applyDocument(c, d, false) {
			add(&p)
		}
		c.sources = append(c.sources, path)
	}
	if run != nil {
		for _, p := range applyDocument(c, run, true) {
			add(&p)
		}
		c.sources = append(c.sources, runFile)
	}
	var applied []string
	for _, o := range ovs {
		if isGroupKey(o.path[0]) {
			continue
		}
		if p := applyOverride(c, o); p != nil {
			add(p)
			continue
		}
		applied = append(applied, o.text)
	}
	if len(applied) > 0 {
		c.sources = append(c.sources, "command line: "+strings.Join(applied, " "))
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return c, nil
}

// readDocument reads and parses a TOML file; what names the role of the file in messages.
func readDocument(path, what string) (*document, *Problem) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := fmt.Sprintf("%s %s: %v", what, path, err)
		if errors.Is(err, fs.ErrNotExist) {
			abs, _ := filepath.Abs(path)
			msg = fmt.Sprintf("%s %s not found (tried %s)", what, path, abs)
		}
		return nil, &Problem{Msg: msg}
	}
	return parseDocument(path, string(data), false)
}

// applyDocument decodes every top-level key of d into c and records where each came from.
// Group keys are allowed only in a run file (where Load has already read them).
func applyDocument(c *Config, d *document, isRun bool) []Problem {
	var problems []Problem
	for _, k := range d.topKeys() {
		if isGroupKey(k) {
			if !isRun {
				problems = append(problems, Problem{Where: d.where(k), Key: k, Msg: fmt.Sprintf(
					"%s = ... selects a group file and is allowed only in a run file; "+
						"move it there or set the keys here directly", k)})
			}
			continue
		}
		f := lookup(k)
		if f == nil {
			problems = append(problems, Problem{Where: d.where(k), Key: k, Msg: fmt.Sprintf(
				"unknown key `%s`%s", k, didYouMean(k, topLevelNames()))})
			continue
		}
		if p := decodeField(c, f, d, k); p != nil {
			problems = append(problems, *p)
			continue
		}
		c.setOrigin(k, d.where(k))
	}
	return problems
}

// resolve finds the file a group choice names, or says which paths were tried.
func (cp Composer) resolve(group string, ch groupChoice, runFile string) (string, *Problem) {
	var tried []string
	if strings.HasSuffix(ch.name, ".toml") || strings.ContainsRune(ch.name, '/') ||
		strings.ContainsRune(ch.name, filepath.Separator) {
		path := ch.name
		if !filepath.IsAbs(path) {
			path = filepath.Join(ch.base, path)
		}
		tried = append(tried, path)
	} else {
		for _, root := range cp.roots(runFile) {
			tried = append(tried, filepath.Join(root, group, ch.name+".toml"))
		}
	}
	for _, p := range tried {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	msg := fmt.Sprintf("%s = %q names no file; tried %s", group, ch.name, strings.Join(tried, ", "))
	if names := cp.available(group, runFile); len(names) > 0 {
		msg += fmt.Sprintf("; available %s configs: %s", group, strings.Join(names, ", "))
	}
	return "", &Problem{Where: ch.where, Key: group, Msg: msg}
}

// roots lists the config roots searched for group files, without duplicates.
func (cp Composer) roots(runFile string) []string {
	var roots []string
	seen := map[string]bool{}
	addRoot := func(r string) {
		r = filepath.Clean(r)
		if !seen[r] {
			seen[r] = true
			roots = append(roots, r)
		}
	}
	for _, r := range cp.ConfigDirs {
		addRoot(r)
	}
	if runFile != "" {
		addRoot(filepath.Dir(filepath.Dir(runFile)))
	}
	addRoot("configs")
	return roots
}

// available lists the NAMEs of a group found under the config roots.
func (cp Composer) available(group, runFile string) []string {
	seen := map[string]bool{}
	var names []string
	for _, root := range cp.roots(runFile) {
		matches, _ := filepath.Glob(filepath.Join(root, group, "*.toml"))
		for _, m := range matches {
			n := strings.TrimSuffix(filepath.Base(m), ".toml")
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return names
}

// Origin says where key got its value: "file:line", "command line `k=v`", "--plugin", or ""
// for a default.
func (c *Config) Origin(key string) string { return c.origins[key] }

// Sources lists the files and override sets composed into c, in the order they were applied.
func (c *Config) Sources() []string { return append([]string(nil), c.sources...) }

// ApplyPluginFlags applies the command-line plugin flags: each of plugins is added as a reward
// plugin (no settings) after those of the configuration, and a non-empty backend replaces
// backend.
func (c *Config) ApplyPluginFlags(plugins []string, backend string) {
	for _, p := range plugins {
		c.Rewards = append(c.Rewards, PluginSpec{Plugin: p})
	}
	if len(plugins) > 0 {
		origin := "--plugin"
		if prev := c.origins["rewards"]; prev != "" && prev != origin {
			origin = prev + " and --plugin" // the entries from files come first
		}
		c.setOrigin("rewards", origin)
	}
	if backend != "" {
		c.Backend = backend
		c.setOrigin("backend", "--backend")
	}
}
