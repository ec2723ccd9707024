#!/usr/bin/env python3
"""Decode throughput of grpo's local sampler against transformers' generate, on one GPU.

GPU machine (PyTorch + transformers; bin/grpo built on the dev machine):
    python3 scripts/gpu/sampler_bench.py --grpo bin/grpo --out $OUT
1. Measures the card's memory bandwidth: a 1 GiB device-to-device copy in PyTorch, timed with
   CUDA events (bytes read + bytes written per second).
2. transformers: a random Qwen2-0.5B-shaped model (hidden 896, 24 layers, 14 heads, 2 KV heads,
   intermediate 4864, vocab 151936, tied) in bfloat16 with its default attention (sdpa) and
   cache, generate(do_sample=True, temperature=1, top_k=0) of --new-tokens tokens (EOS off) for
   --batch rows of --prompt-len random tokens; one warm-up call, then the best of --repeats.
3. grpo: `grpo bench sampler` with the same shape, dtype, batch, prompt and token counts (random
   weights too; EOS ignored), which reports end-to-end tokens/s and the decode time per step,
   and the roofline fraction against the bandwidth of step 1: (bf16 weights + the KV cache of
   every row's prompt and tokens so far, averaged over the steps) / bandwidth / step time.
Prints a Markdown table ready for BENCHMARKS.md and PASS/FAIL lines for the issue's targets
(≥ 5× transformers end-to-end, ≥ 50% of the roofline), and writes $OUT/sampler_bench.json and
$OUT/sampler_bench.md. Exit status 1 if a target is missed or a run fails.

Dev machine (no PyTorch): --no-torch --shape tiny --batch 4 runs the grpo side only.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time

QWEN2_05B = dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                 num_attention_heads=14, num_key_value_heads=2, rope_theta=1e6, rms_norm_eps=1e-6,
                 max_position_embeddings=32768, tie_word_embeddings=True)
SPEEDUP_TARGET = 5.0
ROOFLINE_TARGET = 0.5


def measure_bandwidth(torch):
    n = 1 << 30
    a = torch.empty(n, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    for _ in range(3):
        b.copy_(a)
    torch.cuda.synchronize()
    iters = 20
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        b.copy_(a)
    end.record()
    torch.cuda.synchronize()
    seconds = start.elapsed_time(end) / 1000 / iters
    del a, b
    torch.cuda.empty_cache()
    return 2 * n / seconds / 1e9


def transformers_rates(torch, batches, prompt_len, new_tokens, repeats):
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM
    cfg = Qwen2Config(bos_token_id=1, eos_token_id=2, pad_token_id=0, **QWEN2_05B)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = Qwen2ForCausalLM(cfg).to(torch.bfloat16).eval()
    model.generation_config.eos_token_id = None  # fixed length, as grpo's run (EOS ignored)
    out = {}
    for b in batches:
        ids = torch.randint(10, cfg.vocab_size, (b, prompt_len), device="cuda")
        mask = torch.ones_like(ids)

        def run(tokens):
            gc = GenerationConfig(max_new_tokens=tokens, do_sample=True, temperature=1.0,
                                  top_k=0, top_p=1.0, pad_token_id=0, eos_token_id=None)
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            with torch.no_grad():
                seq = model.generate(input_ids=ids, attention_mask=mask, generation_config=gc)
            torch.cuda.synchronize()
            assert seq.shape[1] == prompt_len + tokens, seq.shape
            return time.perf_counter() - t0

        run(8)  # warm-up
        best = min(run(new_tokens) for _ in range(repeats))
        out[b] = {"seconds": best, "tokens_per_second": b * new_tokens / best}
        print(f"transformers {torch.cuda.get_device_name()} batch {b}: {b * new_tokens / best:.0f} tokens/s "
              f"({best:.2f}s for {new_tokens} tokens)", flush=True)
    del model
    torch.cuda.empty_cache()
    return out


def grpo_rates(args, bandwidth, extra, batches=None):
    cmd = [args.grpo, "bench", "sampler", "--shape", args.shape, "--dtype", "bfloat16",
           "--prompt-len", str(args.prompt_len), "--new-tokens", str(args.new_tokens),
           "--repeats", str(args.repeats), "--json", "--bandwidth", str(bandwidth)]
    for b in batches or args.batch:
        cmd += ["--batch", str(b)]
    cmd += extra  # flags, then key=value sampling arguments
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stderr[-4000:]}")
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    print(f"grpo bench sampler {' '.join(extra)}: {time.perf_counter() - t0:.0f}s including model creation and compilation", flush=True)
    for r in rows:
        print(f"grpo batch {r['batch']} ({r['loop']} loop): {r['tokens_per_second']:.0f} tokens/s end-to-end, "
              f"{r['step_ms']:.2f} ms/step, {r['achieved_gbs']:.0f} GB/s, {100 * r['roofline_fraction']:.0f}% of roofline, "
              f"prefill {r['prefill_seconds']:.3f}s, {r['device_calls']} device calls", flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grpo", default="bin/grpo")
    ap.add_argument("--out", default=os.environ.get("OUT", ""))
    ap.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--prompt-len", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--shape", default="qwen2-0.5b", help="grpo bench sampler --shape (tiny for a dry run)")
    ap.add_argument("--host-loop", action="store_true", help="also time grpo with one decode step per device call")
    ap.add_argument("--processors", action="store_true",
                    help="also time grpo with top_k=50 top_p=0.95 min_p=0.05 repetition_penalty=1.1 at the largest batch "
                         "(reported, not a target)")
    ap.add_argument("--no-torch", action="store_true", help="grpo side only (dev machine dry run)")
    args = ap.parse_args()

    card, bandwidth, hf = "CPU", 0.0, {}
    if not args.no_torch:
        import torch
        import transformers
        card = torch.cuda.get_device_name()
        bandwidth = measure_bandwidth(torch)
        print(f"{card}: device-to-device copy {bandwidth:.0f} GB/s; transformers {transformers.__version__}, "
              f"torch {torch.__version__}", flush=True)
        hf = transformers_rates(torch, args.batch, args.prompt_len, args.new_tokens, args.repeats)
    failed = False
    runs = []
    for extra in [[]] + ([["--loop", "host"]] if args.host_loop else []):
        try:
            runs.append(grpo_rates(args, bandwidth, extra))
        except RuntimeError as e:
            print(f"FAIL grpo bench sampler {' '.join(extra)}: {e}", flush=True)
            failed = True

    if args.processors:
        try:
            rows = grpo_rates(args, bandwidth, ["top_k=50", "top_p=0.95", "min_p=0.05", "repetition_penalty=1.1"],
                              batches=[max(args.batch)])
            for r in rows:
                r["loop"] += ", top_k+top_p+min_p+rep"
            extra_rows = rows
        except RuntimeError as e:
            print(f"FAIL grpo bench sampler with processors: {e}", flush=True)
            failed, extra_rows = True, []
    else:
        extra_rows = []

    date = datetime.date.today().isoformat()
    lines = ["| date | card | model | batch | prompt + new tokens | loop | transformers tok/s | grpo tok/s | speedup | "
             "grpo decode ms/step | grpo GB/s | roofline (copy bw) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for rows in runs:
        for r in rows:
            t = hf.get(r["batch"], {}).get("tokens_per_second")
            speed = r["tokens_per_second"] / t if t else None
            hf_cell = f"{t:.0f}" if t else "—"
            speed_cell = f"{speed:.1f}×" if speed else "—"
            roof_cell = f"{100 * r['roofline_fraction']:.0f}% of {bandwidth:.0f} GB/s" if bandwidth else "—"
            lines.append(f"| {date} | {card} | {args.shape} bf16 random | {r['batch']} | {args.prompt_len} + {args.new_tokens} | "
                         f"{r['loop']} | {hf_cell} | {r['tokens_per_second']:.0f} | {speed_cell} | {r['step_ms']:.2f} | "
                         f"{r['achieved_gbs']:.0f} | {roof_cell} |")
            if speed is not None:
                ok = speed >= SPEEDUP_TARGET
                failed |= not ok
                print(f"{'PASS' if ok else 'FAIL'} batch {r['batch']} ({r['loop']}): {speed:.1f}× transformers "
                      f"(target ≥ {SPEEDUP_TARGET:.0f}×)", flush=True)
            if bandwidth:
                ok = r["roofline_fraction"] >= ROOFLINE_TARGET
                failed |= not ok
                print(f"{'PASS' if ok else 'FAIL'} batch {r['batch']} ({r['loop']}): {100 * r['roofline_fraction']:.0f}% "
                      f"of the bandwidth roofline (target ≥ {100 * ROOFLINE_TARGET:.0f}%)", flush=True)
    for r in extra_rows:
        lines.append(f"| {date} | {card} | {args.shape} bf16 random | {r['batch']} | {args.prompt_len} + {args.new_tokens} | "
                     f"{r['loop']} | — | {r['tokens_per_second']:.0f} | — | {r['step_ms']:.2f} | {r['achieved_gbs']:.0f} | — |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "sampler_bench.md"), "w") as f:
            f.write(table + "\n")
        with open(os.path.join(args.out, "sampler_bench.json"), "w") as f:
            json.dump({"card": card, "bandwidth_gbs": bandwidth, "transformers": hf, "grpo": runs, "grpo_processors": extra_rows,
                       "GOMLX_BACKEND": os.environ.get("GOMLX_BACKEND", "")}, f, indent=1)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
