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
   weights too; EOS ignored), once per variant (VARIANTS below: loop mode, XLA_FLAGS, sampling
   processors), each in its own process (XLA reads XLA_FLAGS once per process). Variants run in
   order while the time budget (--budget seconds for the whole script) allows; one that would
   not fit is reported as SKIP. Per variant and batch it prints tokens/s end-to-end, the decode
   time per step split into device calls / scalar reads (device waits) / host work, the prefill
   time, the warm-up (compilation) time, and the fraction of the roofline against the bandwidth
   of step 1: (bf16 weights + the KV cache of every row's prompt and tokens so far, averaged over
   the steps) / bandwidth / step time.
4. With --xla-dump (default on) the first variant also dumps XLA's optimized HLO to
   $OUT/xla_dump (after-optimization modules only) and prints, per decode-loop module, the
   instructions of the While body by opcode (fusions and custom calls are kernel launches;
   copies there mean loop state that XLA could not update in place).
Prints a Markdown table ready for BENCHMARKS.md and PASS/FAIL lines for the issue's targets
(≥ 5× transformers end-to-end, ≥ 50% of the roofline) on the default variant ("device": what
grpo does without flags), and writes $OUT/sampler_bench.json and $OUT/sampler_bench.md. Exit
status 1 if a target is missed or the default variant fails.

Dev machine (no PyTorch): --no-torch --shape tiny --batch 4 --variants host runs the grpo side only.
"""
import argparse
import collections
import datetime
import json
import os
import re
import subprocess
import sys
import time

QWEN2_05B = dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                 num_attention_heads=14, num_key_value_heads=2, rope_theta=1e6, rms_norm_eps=1e-6,
                 max_position_embeddings=32768, tie_word_embeddings=True)
SPEEDUP_TARGET = 5.0
ROOFLINE_TARGET = 0.5
PROCESSORS = ["top_k=50", "top_p=0.95", "min_p=0.05", "repetition_penalty=1.1"]

# name: (what it measures, grpo flags and key=value arguments, XLA_FLAGS, batches: "all" or "max").
# XLA's command buffers (CUDA graphs) record runs of kernels and replay them with one launch; by
# default XLA records fusions, cuBLAS/cuDNN calls and custom calls, not While loops. "+WHILE,
# +CONDITIONAL" adds the loop itself (conditional graph nodes), so a whole decode segment is one
# graph launch with no host round trip per iteration; "" turns command buffers off.
VARIANTS = collections.OrderedDict([
    ("device", ("device decode loop, XLA defaults (grpo's default)", ["--loop", "auto"], "", "all")),
    ("device-seg64", ("device loop, 64-step segments (the default until 2026-11-26)",
                      ["--loop", "auto", "--segment", "64"], "", "all")),
    ("device+while-graph", ("device loop recorded whole as a CUDA graph",
                            ["--loop", "auto"], "--xla_gpu_enable_command_buffer=+WHILE,+CONDITIONAL", "all")),
    ("host", ("one decode step per device call (the fallback)", ["--loop", "host"], "", "all")),
    ("device-no-graphs", ("device loop, command buffers off", ["--loop", "auto"], "--xla_gpu_enable_command_buffer=", "all")),
    ("device+processors", ("device loop, " + " ".join(PROCESSORS), ["--loop", "auto"] + PROCESSORS, "", "max")),
])


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


def random_qwen2(torch):
    """The benchmark's random Qwen2-0.5B-shaped bf16 model on the GPU, EOS off (fixed length, as
    grpo's run, which ignores EOS). Returns (config, model)."""
    from transformers import Qwen2Config, Qwen2ForCausalLM
    cfg = Qwen2Config(bos_token_id=1, eos_token_id=2, pad_token_id=0, **QWEN2_05B)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = Qwen2ForCausalLM(cfg).to(torch.bfloat16).eval()
    model.generation_config.eos_token_id = None
    return cfg, model


def transformers_rates(torch, batches, prompt_len, new_tokens, repeats):
    from transformers import GenerationConfig
    cfg, model = random_qwen2(torch)
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
              f"({best:.2f}s for {new_tokens} tokens, {1000 * best / new_tokens:.2f} ms/token)", flush=True)
    del model
    torch.cuda.empty_cache()
    return out


def run_variant(args, name, bandwidth, timeout, dump_dir=None):
    """Runs one variant's `grpo bench sampler`; returns (rows, error or None, seconds)."""
    what, extra, xla_flags, which = VARIANTS[name]
    batches = args.batch if which == "all" else [max(args.batch)]
    cmd = [args.grpo, "bench", "sampler", "--shape", args.shape, "--dtype", "bfloat16",
           "--prompt-len", str(args.prompt_len), "--new-tokens", str(args.new_tokens),
           "--repeats", str(args.repeats), "--json", "--bandwidth", str(bandwidth)]
    for b in batches:
        cmd += ["--batch", str(b)]
    cmd += extra  # flags, then key=value sampling arguments
    env = dict(os.environ)
    flags = [f for f in (env.get("XLA_FLAGS", ""), xla_flags) if f]
    if dump_dir:
        flags.append(f"--xla_dump_to={dump_dir} --xla_dump_hlo_as_text")
    if flags:
        env["XLA_FLAGS"] = " ".join(flags)
    print(f"--- grpo variant {name}: {what}; batches {batches}; XLA_FLAGS={env.get('XLA_FLAGS', '')!r}; "
          f"time limit {timeout:.0f}s", flush=True)
    t0 = time.perf_counter()
    err = None
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        stdout, stderr = res.stdout, res.stderr
        if res.returncode != 0:
            err = f"exit status {res.returncode}: {stderr.strip()[-3000:]}"
    except subprocess.TimeoutExpired as e:
        stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        stderr = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        err = f"time limit of {timeout:.0f}s reached (results so far kept)"
    # Warnings say why a loop fell back (e.g. the decode loop failed to compile: LoopAuto then
    # decodes one step per call, and the row's loop reads "host (auto)").
    for line in stderr.splitlines():
        if "WARN" in line or "ERROR" in line:
            print(f"grpo {name} log: {line[:3000]}", flush=True)
    seconds = time.perf_counter() - t0
    rows = []
    for line in stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            r["variant"], r["xla_flags"] = name, xla_flags
            rows.append(r)
    for r in rows:
        print(f"grpo {name} batch {r['batch']} ({r['loop']} loop): {r['tokens_per_second']:.0f} tokens/s end-to-end; "
              f"decode {r['step_ms']:.3f} ms/step = calls {r['call_ms_per_step']:.3f} + reads {r['read_ms_per_step']:.3f} "
              f"+ host {r['host_ms_per_step']:.3f}; prefill {1000 * r['prefill_seconds']:.1f} ms; "
              f"{r['achieved_gbs']:.0f} GB/s, {100 * r['roofline_fraction']:.0f}% of roofline; "
              f"{r['device_calls']} device calls, {r['cache_slots']} cache slots at the end; "
              f"warm-up (compilation) {r['warmup_seconds']:.1f}s", flush=True)
    print(f"grpo variant {name}: {seconds:.0f}s including model creation and compilation"
          + (f"; ERROR {err}" if err else ""), flush=True)
    return rows, err, seconds


# ---------------------------------------------------------------------------------------------
# HLO dump summary.

HEADER = re.compile(r"^(?:ENTRY\s+)?%?([\w.\-]+)\s.*->.*\{\s*$")
OPCODE = re.compile(r"=\s.*?(?<![\w.\-])([a-z][a-z0-9\-]*)\(")
TRIVIAL = {"parameter", "constant", "get-tuple-element", "tuple", "bitcast"}


def parse_hlo(text):
    """Computation name -> Counter of instruction opcodes; and the (cond, body) of each While."""
    comps, loops, cur = {}, [], None
    for line in text.splitlines():
        if line and not line[0].isspace():
            m = HEADER.match(line)
            cur = m.group(1) if m else None
            if cur:
                comps[cur] = collections.Counter()
            continue
        if cur is None or " = " not in line:
            continue
        m = OPCODE.search(line)
        if not m:
            continue
        comps[cur][m.group(1)] += 1
        if m.group(1) == "while":
            body = re.search(r"body=%?([\w.\-]+)", line)
            cond = re.search(r"condition=%?([\w.\-]+)", line)
            loops.append((cond.group(1) if cond else None, body.group(1) if body else None))
    return comps, loops


def summarize_dump(dump_dir):
    """Keeps the after-optimization HLO of each module and prints the decode loops' bodies."""
    if not os.path.isdir(dump_dir):
        print(f"INFO no XLA dump in {dump_dir}", flush=True)
        return []
    for f in os.listdir(dump_dir):
        if not f.endswith("after_optimizations.txt"):
            os.remove(os.path.join(dump_dir, f))
    out = []
    for f in sorted(os.listdir(dump_dir)):
        with open(os.path.join(dump_dir, f)) as fh:
            comps, loops = parse_hlo(fh.read())
        for cond, body in loops:
            ops = comps.get(body, collections.Counter())
            kernels = sum(n for op, n in ops.items() if op not in TRIVIAL)
            top = ", ".join(f"{op} {n}" for op, n in ops.most_common() if op not in TRIVIAL)
            cond_ops = sum(n for op, n in comps.get(cond, collections.Counter()).items() if op not in TRIVIAL)
            print(f"HLO {f}: While body {body}: {kernels} non-trivial instructions ({top}); condition {cond_ops}", flush=True)
            out.append({"module": f, "body": body, "ops": dict(ops), "condition_ops": cond_ops})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grpo", default="bin/grpo")
    ap.add_argument("--out", default=os.environ.get("OUT", ""))
    ap.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--prompt-len", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--shape", default="qwen2-0.5b", help="grpo bench sampler --shape (tiny for a dry run)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, in order; of {', '.join(VARIANTS)}")
    ap.add_argument("--budget", type=float, default=235, help="seconds for the whole script; variants that do not fit are skipped")
    ap.add_argument("--xla-dump", action=argparse.BooleanOptionalAction, default=True,
                    help="dump the first variant's optimized HLO to $OUT/xla_dump and summarize its decode loops")
    ap.add_argument("--xla-flags", default="",
                    help="also time the device loop with these XLA_FLAGS (variant \"custom\", run second); "
                         "write --xla-flags=\"--a=1 --b=2\"")
    ap.add_argument("--no-torch", action="store_true", help="grpo side only (dev machine dry run)")
    args = ap.parse_args()
    start = time.perf_counter()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if args.xla_flags:
        VARIANTS["custom"] = ("device loop with --xla-flags", ["--loop", "auto"], args.xla_flags, "all")
        variants.insert(min(1, len(variants)), "custom")
    for v in variants:
        if v not in VARIANTS:
            ap.error(f"unknown variant {v!r}: use {', '.join(VARIANTS)}")

    card, bandwidth, hf = "CPU", 0.0, {}
    if not args.no_torch:
        import torch
        import transformers
        card = torch.cuda.get_device_name()
        bandwidth = measure_bandwidth(torch)
        print(f"{card}: device-to-device copy {bandwidth:.0f} GB/s; transformers {transformers.__version__}, "
              f"torch {torch.__version__}", flush=True)
        hf = transformers_rates(torch, args.batch, args.prompt_len, args.new_tokens, args.repeats)
        print(f"transformers done at {time.perf_counter() - start:.0f}s", flush=True)

    failed = False
    results, errors, skipped, per_batch_seconds = [], {}, [], None
    dump_dir = os.path.join(args.out or "/tmp/sampler_bench", "xla_dump") if args.xla_dump else None
    hlo = []
    for i, name in enumerate(variants):
        n_batches = len(args.batch) if VARIANTS[name][3] == "all" else 1
        left = args.budget - (time.perf_counter() - start)
        estimate = per_batch_seconds * n_batches if per_batch_seconds else 0
        if left < max(estimate, 15):
            print(f"SKIP grpo variant {name}: {left:.0f}s of the budget left, it needs about {estimate:.0f}s "
                  f"(raise --budget and CHECK_TIMEOUT, or pick --variants)", flush=True)
            skipped.append(name)
            continue
        rows, err, seconds = run_variant(args, name, bandwidth, left, dump_dir if i == 0 else None)
        if i == 0 and dump_dir:
            hlo = summarize_dump(dump_dir)
        if per_batch_seconds is None:
            per_batch_seconds = seconds / n_batches
        results += rows
        if err:
            errors[name] = err
            print(f"FAIL grpo variant {name}: {err}", flush=True)
            if name == "device":
                failed = True

    date = datetime.date.today().isoformat()
    lines = ["| date | card | model | batch | prompt + new tokens | variant (loop; XLA_FLAGS) | transformers tok/s | grpo tok/s | "
             "speedup | grpo decode ms/step (calls + reads + host) | grpo GB/s | roofline (copy bw) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    best = {}
    for r in results:
        t = hf.get(r["batch"], {}).get("tokens_per_second") if r["variant"] != "device+processors" else None
        speed = r["tokens_per_second"] / t if t else None
        hf_cell = f"{t:.0f}" if t else "—"
        speed_cell = f"{speed:.1f}×" if speed else "—"
        roof_cell = f"{100 * r['roofline_fraction']:.0f}% of {bandwidth:.0f} GB/s" if bandwidth else "—"
        label = f"{r['variant']} ({r['loop']}" + (f"; {r['xla_flags']}" if r["xla_flags"] else "") + ")"
        lines.append(f"| {date} | {card} | {args.shape} bf16 random | {r['batch']} | {args.prompt_len} + {args.new_tokens} | "
                     f"{label} | {hf_cell} | {r['tokens_per_second']:.0f} | {speed_cell} | "
                     f"{r['step_ms']:.2f} ({r['call_ms_per_step']:.2f} + {r['read_ms_per_step']:.2f} + {r['host_ms_per_step']:.2f}) | "
                     f"{r['achieved_gbs']:.0f} | {roof_cell} |")
        if r["variant"] != "device+processors" and (r["batch"] not in best or r["step_ms"] < best[r["batch"]]["step_ms"]):
            best[r["batch"]] = r
        if r["variant"] != "device":
            continue
        if speed is not None:
            ok = speed >= SPEEDUP_TARGET
            failed |= not ok
            print(f"{'PASS' if ok else 'FAIL'} batch {r['batch']} ({r['loop']} loop): {speed:.1f}× transformers "
                  f"(target ≥ {SPEEDUP_TARGET:.0f}×)", flush=True)
        if bandwidth:
            ok = r["roofline_fraction"] >= ROOFLINE_TARGET
            failed |= not ok
            print(f"{'PASS' if ok else 'FAIL'} batch {r['batch']} ({r['loop']} loop): {100 * r['roofline_fraction']:.0f}% "
                  f"of the bandwidth roofline (target ≥ {100 * ROOFLINE_TARGET:.0f}%)", flush=True)
    if not any(r["variant"] == "device" for r in results) and "device" in variants:
        print("FAIL the default variant (device) gave no result", flush=True)
        failed = True
    for b, r in sorted(best.items()):
        print(f"INFO fastest at batch {b}: {r['variant']} ({r['step_ms']:.3f} ms/step, "
              f"{100 * r['roofline_fraction']:.0f}% of roofline)", flush=True)
    table = "\n".join(lines)
    print(table)
    print(f"sampler_bench done in {time.perf_counter() - start:.0f}s", flush=True)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "sampler_bench.md"), "w") as f:
            f.write(table + "\n")
        with open(os.path.join(args.out, "sampler_bench.json"), "w") as f:
            json.dump({"card": card, "bandwidth_gbs": bandwidth, "transformers": hf, "grpo": results,
                       "errors": errors, "skipped": skipped, "hlo_loops": hlo,
                       "GOMLX_BACKEND": os.environ.get("GOMLX_BACKEND", "")}, f, indent=1)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
