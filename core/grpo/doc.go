// Package grpo holds the GRPO objective as tensor math, the part of the trainer that must match
// Hugging Face TRL and SakanaAI's RLT number for number:
//
//   - advantages.go: group-relative advantages from reward columns (weights, NaN = no score,
//     scale_rewards group/batch/none), in float64 on the host.
//   - logprobs.go:   log-probs (and entropies) of chosen tokens from a decoder's last hidden states
//     and output projection, with the sampling temperature, chunked so that [tokens, vocab]
//     logits never exist whole, forward and backward. Also the SFT cross-entropy.
//   - loss.go:       the per-token clipped surrogate with the k3 KL penalty and its reductions
//     (loss_type grpo, bnpo, dr_grpo, dapo), with diagnostics.
//   - mask.go:       the completion mask (up to and including the first EOS;
//     mask_truncated_completions) and completion lengths.
//   - refsync.go:    the TR-DPO reference update θ_ref ← α·θ + (1 − α)·θ_ref.
//   - metrics.go:    TRL's logged metrics (reward, kl, entropy, clip ratios, completion lengths).
//
// Sources cited in the doc comments: "TRL HEAD" is huggingface/trl at f2cd577 (1.10.0.dev0),
// "TRL v0.15.2" the tag RLT forked from, "RLT" SakanaAI/RLT at 86a3f5c (trainers/grpo.py).
//
// Every function takes tensors (GoMLX graph nodes) or plain Go slices and plain option structs. The
// package knows nothing of models, tokenizers, plugins, generation backends or configuration
// files, and must not import them: the training loop (core/train) wires a model's hidden states and
// the rewards' scores into these functions. Graph-building functions panic on invalid input, as
// GoMLX functions do; the Exec that runs them returns the panic as an error.
package grpo
