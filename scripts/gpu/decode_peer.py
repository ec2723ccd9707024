"""The strongest PyTorch decode peer on the GPU machine, for issue 7's roofline question.

transformers `generate` with a static KV cache, which transformers compiles with torch.compile
(inductor, mode "reduce-overhead": fused Triton kernels replayed as CUDA graphs), on the same
random Qwen2-0.5B-shaped bf16 model as scripts/gpu/sampler_bench.py (64 prompt + 256 new
tokens, EOS off). It reports the decode time per step ((time for N new tokens − time for 1) /
(N − 1)) and the fraction of the bandwidth roofline by grpo's formula (bf16 weights + the KV cache
of every row's prompt and tokens so far, averaged over the steps, over the measured copy
bandwidth), so the two can be compared on one card in one run.
    python3 scripts/gpu/decode_peer.py [--batch 64 --batch 256] [--json OUT.json]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sampler_bench import measure_bandwidth, random_qwen2  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, action="append")
    ap.add_argument("--prompt-len", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--json")
    args = ap.parse_args()
    import torch
    from transformers import GenerationConfig

    bandwidth = measure_bandwidth(torch)
    cfg, model = random_qwen2(torch)
    params = sum(p.numel() for p in model.parameters())
    kv_per_slot = cfg.num_hidden_layers * 2 * cfg.num_key_value_heads * (cfg.hidden_size // cfg.num_attention_heads) * 2
    rows = []
    for b in args.batch or [64, 256]:
        ids = torch.randint(10, cfg.vocab_size, (b, args.prompt_len), device="cuda")
        mask = torch.ones_like(ids)

        def run(tokens):
            gc = GenerationConfig(max_new_tokens=tokens, min_new_tokens=tokens, do_sample=True, temperature=1.0,
                                  top_k=0, top_p=1.0, pad_token_id=0, eos_token_id=None,
                                  cache_implementation="static")
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            with torch.no_grad():
                seq = model.generate(input_ids=ids, attention_mask=mask, generation_config=gc)
            torch.cuda.synchronize()
            assert seq.shape[1] == args.prompt_len + tokens, seq.shape
            return time.perf_counter() - t0

        t0 = time.perf_counter()
        run(args.new_tokens)  # compiles (and records the CUDA graphs)
        run(args.new_tokens)
        warm = time.perf_counter() - t0
        full = min(run(args.new_tokens) for _ in range(3))
        one = min(run(1) for _ in range(3))
        step = (full - one) / (args.new_tokens - 1)
        nbytes = params * 2 + b * kv_per_slot * (args.prompt_len + args.new_tokens / 2)
        r = {"batch": b, "step_ms": 1000 * step, "tokens_per_second": b * args.new_tokens / full,
             "warmup_seconds": warm, "gbs": nbytes / step / 1e9, "roofline_fraction": nbytes / step / 1e9 / bandwidth,
             "bandwidth_gbs": bandwidth, "card": torch.cuda.get_device_name(), "torch": torch.__version__}
        rows.append(r)
        print(f"peer transformers static cache + torch.compile, {r['card']}, batch {b}: decode {r['step_ms']:.3f} ms/step, "
              f"{r['tokens_per_second']:.0f} tokens/s end-to-end, {r['gbs']:.0f} GB/s = "
              f"{100 * r['roofline_fraction']:.0f}% of {bandwidth:.0f} GB/s (warm-up {warm:.0f}s)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
