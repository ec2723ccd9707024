#!/usr/bin/env python3
"""Builds the tiny transformers-made checkpoints that grpo's CPU tests compare against.

Run on a machine with PyTorch + transformers (the GPU machine; CPU is enough):
    python3 scripts/gpu/make_model_fixtures.py OUTDIR
Writes OUTDIR/{tiny-qwen2,tiny-llama,tiny-qwen2-bf16,tiny-qwen2-sharded}/ each with the
checkpoint (save_pretrained) and expected.json: a left-padded token batch, its attention mask and
position ids (cumsum(mask)-1, pads set to 1 as HF generate does), the float32 logits [B,T,V] of
the eager-attention PyTorch forward, and the greedy next token of each row.
Weights are random with a larger scale than HF's init so that the logits are far from uniform
and the comparison discriminates.
"""
import json
import os
import sys

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def batch(vocab, seed):
    g = torch.Generator().manual_seed(seed)
    B, T = 3, 10
    pads = [0, 3, 6]
    ids = torch.randint(3, vocab, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.long)
    for b, n in enumerate(pads):
        ids[b, :n] = 0  # pad id
        mask[b, :n] = 0
    pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
    return ids, mask, pos


def rounded(x):
    return float(f"{x:.8g}")


def write_expected(model, path, vocab, seed):
    ids, mask, pos = batch(vocab, seed)
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits.float()
    exp = {
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "input_ids": ids.tolist(),
        "attention_mask": mask.tolist(),
        "position_ids": pos.tolist(),
        "logits": [[[rounded(v) for v in row] for row in b] for b in logits.tolist()],
        "greedy_next": logits[:, -1, :].argmax(-1).tolist(),
    }
    with open(os.path.join(path, "expected.json"), "w") as f:
        json.dump(exp, f)


def main(out):
    torch.manual_seed(0)
    vocab = 256
    qcfg = Qwen2Config(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
        rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=True,
        bos_token_id=1, eos_token_id=2, pad_token_id=0, attn_implementation="eager",
    )
    q = Qwen2ForCausalLM(qcfg)
    randomize(q, 1)
    d = os.path.join(out, "tiny-qwen2")
    q.save_pretrained(d)
    write_expected(q, d, vocab, 11)

    d = os.path.join(out, "tiny-qwen2-sharded")
    q.save_pretrained(d, max_shard_size="60KB")
    write_expected(q, d, vocab, 11)

    qb = Qwen2ForCausalLM(qcfg)
    qb.load_state_dict(q.state_dict())
    qb = qb.to(torch.bfloat16)
    d = os.path.join(out, "tiny-qwen2-bf16")
    qb.save_pretrained(d)
    # Expected logits from the stored bf16 weights loaded in float32 the way a user loads them
    # (from_pretrained keeps the rotary inv_freq buffer in float32; casting the live model to
    # bf16 and back would round that buffer too).
    qf = Qwen2ForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager")
    write_expected(qf, d, vocab, 11)

    lcfg = LlamaConfig(
        vocab_size=vocab, hidden_size=48, intermediate_size=96, num_hidden_layers=3,
        num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=128,
        rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=False,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 16},
        bos_token_id=1, eos_token_id=2, pad_token_id=0, attn_implementation="eager",
    )
    m = LlamaForCausalLM(lcfg)
    randomize(m, 2)
    d = os.path.join(out, "tiny-llama")
    m.save_pretrained(d)
    write_expected(m, d, vocab, 12)
    for name in sorted(os.listdir(out)):
        files = sorted(os.listdir(os.path.join(out, name)))
        print("fixture", name, files)


if __name__ == "__main__":
    main(sys.argv[1])
