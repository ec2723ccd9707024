// Package hf reads and writes causal language models in the Hugging Face layout: config.json,
// generation_config.json, model.safetensors or a sharded model.safetensors.index.json, and the
// tokenizer files (carried along, never parsed here: core/tokenizer reads them).
//
// It also resolves a model_name_or_path the way transformers does: a local directory, a snapshot
// in the Hugging Face cache ($HF_HUB_CACHE, $HF_HOME/hub, $TRANSFORMERS_CACHE, ~/.cache/huggingface/hub),
// or a download from the Hub ($HF_ENDPOINT, $HF_TOKEN) into that cache.
//
// It owns file formats only: no graphs, no GoMLX variables (core/model builds the decoder).
package hf
