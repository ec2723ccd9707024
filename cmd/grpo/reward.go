package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/reward"
	"github.com/grpo-dev/grpo/plugins"
)

func init() {
	register(&cli.Command{
		Name:      "reward",
		Usage:     "score a JSONL file of (prompt, completion) rows with reward plugins",
		ArgsUsage: "[RUN.toml] [key=value ...]",
		Description: `Each row needs "completion" (and usually "prompt"); its other columns reach the plugins as
metadata (e.g. "answer"). Prints one JSON line per row:
  {"reward": <weighted total>, "rewards": {"<plugin name>": <value>, ...}}
null means no score. The weighted total sums the weighted rewards that exist (TRL's nansum);
it is null only if no plugin scored the row. Exits non-zero if any plugin fails.

Plugins come from the run file's [[rewards]] (if given) plus each --plugin; reward_weights,
plugin_timeout, plugin_memory_limit_mb and plugin_sandbox are config keys (key=value overrides).

  grpo reward --plugin rewards/math.wasm --plugin builtin:format --data rows.jsonl
  grpo reward --plugin rewards/math.wasm --setting math.answer_column=gold --data rows.jsonl`,
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "plugin", Usage: "reward plugin: FILE.wasm, builtin:NAME or an executable (repeatable; adds to the run file's rewards)"},
			&cli.StringFlag{Name: "data", Required: true, Usage: "JSONL file of rows"},
			&cli.FloatSliceFlag{Name: "weights", Usage: "one weight per plugin (default 1 each; wins over config reward_weights)"},
			&cli.StringSliceFlag{Name: "setting", Usage: "plugin setting NAME.key=value (NAME: the plugin's file name without .wasm, or its builtin name; value JSON or a string)"},
			&cli.Int64Flag{Name: "seed", Usage: "seed passed to the plugins"},
			&cli.IntFlag{Name: "batch-size", Value: 1024, Usage: "rows per Score call"},
		}, pluginHostFlags()...),
		Action: runReward,
	})
}

func runReward(ctx context.Context, cmd *cli.Command) error {
	runFile, overrides := splitRunFile(cmd.Args().Slice())
	cfg, err := config.Load(runFile, overrides...)
	if err != nil {
		return err
	}
	cfg.ApplyPluginFlags(cmd.StringSlice("plugin"), "")
	if len(cfg.Rewards) == 0 {
		return fmt.Errorf("no reward plugin: give --plugin FILE.wasm (or a run file with [[rewards]])")
	}
	opts, err := pluginOptions(cmd, cfg)
	if err != nil {
		return err
	}
	specs := make([]plugins.Spec, len(cfg.Rewards))
	paths := make([]string, len(cfg.Rewards))
	for i, r := range cfg.Rewards {
		specs[i] = plugins.Spec{Plugin: r.Plugin, Settings: r.Settings}
		paths[i] = r.Plugin
	}
	if err := applySettings(specs, paths, cmd.StringSlice("setting")); err != nil {
		return err
	}
	weights := cfg.RewardWeightsOrOnes()
	if w := cmd.FloatSlice("weights"); len(w) > 0 {
		weights = w
	}
	if len(weights) != len(specs) {
		return fmt.Errorf("reward_weights (--weights) has %d values for %d plugins", len(weights), len(specs))
	}
	rows, err := readRows(cmd.String("data"))
	if err != nil {
		return err
	}
	rewards, err := plugins.OpenRewards(ctx, specs, opts)
	if err != nil {
		return err
	}
	defer closeAll(rewards)
	names := uniqueNames(rewards)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	size := max(cmd.Int("batch-size"), 1)
	for start := 0; start < len(rows); start += size {
		chunk := rows[start:min(start+size, len(rows))]
		values := make([][]float64, len(rewards))
		for k, r := range rewards {
			sc, err := r.Score(ctx, cmd.Int64("seed"), chunk)
			if err != nil {
				return fmt.Errorf("rows %d..%d of %s: %w", start+1, start+len(chunk), cmd.String("data"), err)
			}
			values[k] = sc.Values
		}
		for i := range chunk {
			line := map[string]any{}
			per := map[string]any{}
			total, scored := 0.0, false
			for k := range rewards {
				v := values[k][i]
				per[names[k]] = jsonNumber(v)
				if !math.IsNaN(v) {
					total += weights[k] * v
					scored = true
				}
			}
			line["rewards"] = per
			line["reward"] = nil
			if scored {
				line["reward"] = total
			}
			b, _ := json.Marshal(line)
			out.Write(append(b, '\n'))
		}
	}
	return nil
}

func jsonNumber(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return v
}

// applySettings adds each --setting NAME.key=value to the spec of the plugin named NAME.
func applySettings(specs []plugins.Spec, paths, settings []string) error {
	byName := map[string]int{}
	for i, p := range paths {
		byName[specName(p)] = i
	}
	for _, s := range settings {
		kv, v, ok := strings.Cut(s, "=")
		name, key, ok2 := strings.Cut(kv, ".")
		if !ok || !ok2 {
			return fmt.Errorf("--setting %q: want NAME.key=value", s)
		}
		i, found := byName[name]
		if !found {
			return fmt.Errorf("--setting %q: no plugin named %q", s, name)
		}
		var val any
		if json.Unmarshal([]byte(v), &val) != nil {
			val = v // not JSON: a plain string
		}
		if specs[i].Settings == nil {
			specs[i].Settings = map[string]any{}
		}
		specs[i].Settings[key] = val
	}
	return nil
}

// splitRunFile separates an optional leading run file (an argument without '=') from the
// key=value overrides.
func splitRunFile(args []string) (runFile string, overrides []string) {
	if len(args) > 0 && !strings.Contains(args[0], "=") {
		return args[0], args[1:]
	}
	return "", args
}

func specName(p string) string {
	if n, ok := strings.CutPrefix(p, "builtin:"); ok {
		return n
	}
	return strings.TrimSuffix(filepath.Base(p), ".wasm")
}

// uniqueNames returns the plugins' names, numbering repeats ("math", "math#2").
func uniqueNames(rs []reward.Reward) []string {
	seen := map[string]int{}
	names := make([]string, len(rs))
	for i, r := range rs {
		n := r.Name()
		seen[n]++
		if seen[n] > 1 {
			n = fmt.Sprintf("%s#%d", n, seen[n])
		}
		names[i] = n
	}
	return names
}

// readRows reads a JSONL file: "completion" (string) is required, "prompt" is a string or any
// JSON value (chat messages are passed as their JSON text), other columns become metadata.
func readRows(path string) ([]reward.Sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var rows []reward.Sample
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var row map[string]any
		if err := json.Unmarshal([]byte(text), &row); err != nil {
			return nil, fmt.Errorf("%s:%d: not a JSON object: %w", path, line, err)
		}
		comp, ok := row["completion"].(string)
		if !ok {
			return nil, fmt.Errorf(`%s:%d: the row has no "completion" string (columns: %s)`, path, line, strings.Join(sortedColumns(row), ", "))
		}
		s := reward.Sample{Completion: comp, Metadata: map[string]any{}}
		switch p := row["prompt"].(type) {
		case string:
			s.Prompt = p
		case nil:
		default:
			b, _ := json.Marshal(p)
			s.Prompt = string(b)
		}
		for k, v := range row {
			if k != "prompt" && k != "completion" {
				s.Metadata[k] = v
			}
		}
		rows = append(rows, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}

func sortedColumns(row map[string]any) []string {
	cols := make([]string, 0, len(row))
	for k := range row {
		cols = append(cols, k)
	}
	sort.Strings(cols)
	return cols
}
