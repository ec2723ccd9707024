// Package configs carries grpo's shipped configuration inside the binary: the run, trainer,
// model, data and distributed TOML files, and the demo — the arithmetic model and data that
// `grpo run` trains with no run file (configs/demo/: run.toml, the model in Hugging Face layout,
// data/{train,test}.jsonl). Being compiled in, the demo runs from any working directory.
package configs

import "embed"

// FS holds the configs/ tree as files (the Go sources excluded).
//
//go:embed README.md demo run trainer model data distributed
var FS embed.FS

// DemoRun is the path of the demo's run file inside FS.
const DemoRun = "demo/run.toml"
