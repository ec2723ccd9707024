// Package wasm hosts grpo reward and template plugins compiled to WebAssembly, on wazero
// (grpo-wasm ABI v1: sdk/ABI.md). OpenReward and OpenTemplate return values implementing the
// core's reward.Reward and template.Template.
//
// A plugin is compiled once (wazero's compiler, with an on-disk compilation cache) and run by a
// pool of instances: Score splits a batch into chunks at fixed item boundaries and scores them
// in parallel, one guest call per chunk. Every call has a deadline (Options.Timeout) and every
// instance a memory cap (Options.MemoryLimitMB); a trap, timeout or invalid output fails the
// batch with a named error (errors.go) and the instance is replaced. Guests get WASI preview 1
// without files, environment or network, a fake clock and a random stream reset per call from
// the batch seed; their stdout, stderr and grpo_host.log lines go to the logger, capped per call.
//
// Modules built with an Extism PDK run through an adapter (extism.go). With SandboxProcess the
// module runs in a child process (ServeWorker) that is killed on a missed deadline, which also
// stops the loop-free code wazero cannot interrupt.
//
// This package knows nothing of the trainer: it implements the core's interfaces and imports
// sdk/wire for the messages.
package wasm
