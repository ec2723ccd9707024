#!/usr/bin/env python3
"""GRPO step time of `grpo run` on one GPU (XLA CUDA), and of a minimal PyTorch GRPO step.

GPU machine (PyTorch, transformers, tokenizers; bin/grpo built on the dev machine):
    python3 scripts/gpu/train_bench.py --grpo bin/grpo --out $OUT

1. Model: a random Qwen2-0.5B-shaped decoder (hidden 896, 24 layers, 14 heads, 2 KV heads,
   intermediate 4864, vocab 151936, tied), made by transformers with a fixed seed and saved in
   Hugging Face layout (float32 master weights) with the demo's tokenizer files (its ids are a
   subset of the vocabulary; a random model's rewards mean nothing anyway).
2. Data: prompts of --prompt-len tokens (random digits, one token each in that tokenizer).
3. grpo: `grpo run` for --steps steps with G = --generations completions of up to
   --completion-len tokens per prompt, --rows completions per step, backward chunks of --chunk
   rows, bf16 compute over float32 masters, AdamW, reward builtin:length, beta 0. The step time
   and its split (generation, scoring, log-probs, update, sync) come from metrics.jsonl; the first
   --warmup steps (compilation) are left out of the means.
4. PyTorch peer (not TRL, which is not installed there: a hand-written GRPO step with the same
   geometry): a bfloat16 copy of the policy generates with transformers' generate (sampling at
   temperature 1), the float32 policy computes the RLT/TRL 0.15 loss (per-sequence token mean of
   −A·exp(logp − sg(logp)), autocast bf16, log-softmax of the completion logits only) chunk by
   chunk, clips the gradient norm at 1 and takes a fused AdamW step; the bf16 copy is then
   refreshed (the sync). Fewer steps (--torch-steps), same warm-up rule.
Prints a Markdown row for BENCHMARKS.md, the ratio of step times, and PASS/FAIL lines; writes
$OUT/train_bench.json and $OUT/train_bench.md.

Dev machine dry run (no PyTorch): --no-torch --shape tiny --steps 3 --rows 16 --prompt-len 32
--completion-len 32 (the model then comes from `grpo model init`).
"""
import argparse
import datetime
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time

QWEN2_05B = dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                 num_attention_heads=14, num_key_value_heads=2, rope_theta=1e6, rms_norm_eps=1e-6,
                 max_position_embeddings=32768, tie_word_embeddings=True)
TINY = dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, rope_theta=1e4, rms_norm_eps=1e-6,
            max_position_embeddings=1024, tie_word_embeddings=True)
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO_TOKENIZER = os.path.join(ROOT, "configs", "demo", "model")


def special_ids():
    with open(os.path.join(DEMO_TOKENIZER, "generation_config.json")) as f:
        gen = json.load(f)
    eos = gen["eos_token_id"]
    return (eos[0] if isinstance(eos, list) else eos), gen.get("pad_token_id", 0)


def make_model(args, work):
    model_dir = os.path.join(work, "model")
    shape = QWEN2_05B if args.shape == "qwen2-0.5b" else TINY
    eos, pad = special_ids()
    if args.no_torch:
        cfg = dict(architectures=["Qwen2ForCausalLM"], model_type="qwen2", hidden_act="silu",
                   initializer_range=0.02, torch_dtype="float32", eos_token_id=eos, pad_token_id=pad, **shape)
        cfg["rope_theta"] = shape["rope_theta"]
        path = os.path.join(work, "config.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        run([args.grpo, "model", "init", "--config", path, "--tokenizer", DEMO_TOKENIZER, "--seed", "1", "--out", model_dir])
        return model_dir
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM
    torch.manual_seed(0)
    cfg = Qwen2Config(bos_token_id=None, eos_token_id=eos, pad_token_id=pad, **shape)
    model = Qwen2ForCausalLM(cfg)
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = pad
    model.save_pretrained(model_dir, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(DEMO_TOKENIZER, name), model_dir)
    del model
    return model_dir


def make_data(args, work):
    rng = random.Random(1)
    path = os.path.join(work, "prompts.jsonl")
    with open(path, "w") as f:
        for i in range(max(64, 4 * args.rows // args.generations)):
            digits = "".join(rng.choice("0123456789") for _ in range(args.prompt_len + 16))
            f.write(json.dumps({"prompt": digits, "id": i}) + "\n")
    return path


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-6000:]}")
    return res


def grpo_run(args, model_dir, data, work):
    out = os.path.join(work, "grpo-out")
    toml = f"""model_name_or_path = "{model_dir}"
dataset_id_or_path = "{data}"
dataset_format = "prompt"
prompt_column = "prompt"
apply_chat_template = false
output_dir = "{out}"
num_generations = {args.generations}
per_device_train_batch_size = {args.rows}
gradient_accumulation_steps = 1
backprop_accumulation_micro_batch_size = {args.chunk}
max_prompt_length = {args.prompt_len}
max_completion_length = {args.completion_len}
temperature = 1.0
top_p = 1.0
loss_type = "grpo"
beta = 0.0
learning_rate = 1e-6
lr_scheduler_type = "constant"
bf16 = true
max_steps = {args.steps}
logging_steps = 1
save_strategy = "no"
save_final_model = false
report_to = ["none"]
seed = 1
"""
    path = os.path.join(work, "bench.toml")
    with open(path, "w") as f:
        f.write(toml)
    t0 = time.perf_counter()
    res = run([args.grpo, "run", path, "--plugin", "builtin:length"])
    wall = time.perf_counter() - t0
    with open(os.path.join(work, "grpo-run.log"), "w") as f:
        f.write(res.stdout + res.stderr)
    rows = []
    with open(os.path.join(out, "metrics.jsonl")) as f:
        for line in f:
            rows.append(json.loads(line))
    return rows, wall


def mean(xs):
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return sum(xs) / len(xs) if xs else float("nan")


def summarize_grpo(rows, warmup):
    steady = rows[warmup:] if len(rows) > warmup else rows
    keys = {"step": "timing/step_s", "generation": "timing/generation_s", "scoring": "timing/scoring_s",
            "logprobs": "timing/logprobs_s", "update": "timing/update_s", "sync": "timing/sync_s"}
    s = {k: mean([r.get(v) for r in steady]) for k, v in keys.items()}
    # The skeleton's step time includes the AdamW apply; what the split leaves out is it.
    s["optimizer"] = s["step"] - sum(s[k] for k in ("generation", "scoring", "logprobs", "update", "sync"))
    s["completion_tokens"] = mean([r.get("completions/mean_length") for r in steady])
    s["tokens_per_s"] = mean([r.get("timing/tokens_per_s") for r in steady])
    s["loss_finite"] = all(r.get("loss") is not None and math.isfinite(r["loss"]) for r in rows)
    s["grad_norm_finite"] = all(r.get("grad_norm") is not None and math.isfinite(r["grad_norm"]) for r in rows)
    s["steps"] = len(rows)
    return s


def torch_peer(args, model_dir, data):
    import torch
    import torch.nn.functional as F
    from tokenizers import Tokenizer
    from transformers import GenerationConfig, Qwen2ForCausalLM

    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    eos, pad = special_ids()
    prompts = []
    with open(data) as f:
        for line in f:
            ids = tok.encode(json.loads(line)["prompt"], add_special_tokens=False).ids
            prompts.append(ids[-args.prompt_len:])
    dev = "cuda"
    policy = Qwen2ForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).to(dev).train()
    gen_model = Qwen2ForCausalLM.from_pretrained(model_dir, torch_dtype=torch.bfloat16).to(dev).eval()
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-6, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, fused=True)
    k = args.rows // args.generations
    gc = GenerationConfig(max_new_tokens=args.completion_len, do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                          eos_token_id=eos, pad_token_id=pad, num_return_sequences=args.generations)
    times = []
    for step in range(args.torch_steps):
        t = {}
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        batch = [prompts[(step * k + i) % len(prompts)] for i in range(k)]
        ids = torch.tensor(batch, device=dev)  # equal lengths: no padding
        with torch.no_grad():
            seq = gen_model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=gc)
        torch.cuda.synchronize()
        t["generation"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        comp = seq[:, args.prompt_len:]
        texts = [tok.decode(c.tolist(), skip_special_tokens=True) for c in comp]
        rewards = torch.tensor([1 - min(1.0, abs(len(x) - 512) / 512) for x in texts], device=dev)  # builtin:length
        g = rewards.view(-1, args.generations)
        adv = ((g - g.mean(1, keepdim=True)) / (g.std(1, keepdim=True) + 1e-4)).view(-1)
        is_eos = comp == eos
        first = torch.where(is_eos.any(1), is_eos.int().argmax(1), torch.full((comp.shape[0],), comp.shape[1], device=dev))
        mask = (torch.arange(comp.shape[1], device=dev)[None, :] <= first[:, None]).float()
        torch.cuda.synchronize()
        t["scoring"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        n = seq.shape[0]
        for c in range(0, n, args.chunk):
            s, a, m = seq[c:c + args.chunk], adv[c:c + args.chunk], mask[c:c + args.chunk]
            with torch.autocast("cuda", dtype=torch.bfloat16):
                hidden = policy.model(input_ids=s, attention_mask=torch.ones_like(s)).last_hidden_state
                logits = policy.lm_head(hidden[:, args.prompt_len - 1:-1])
            logp = torch.gather(F.log_softmax(logits.float(), -1), 2, s[:, args.prompt_len:, None]).squeeze(2)
            per_tok = -torch.exp(logp - logp.detach()) * a[:, None]
            loss = ((per_tok * m).sum(1) / m.sum(1).clamp(min=1)).sum() / n
            loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        t["update"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        with torch.no_grad():
            for pg, pp in zip(gen_model.parameters(), policy.parameters()):
                pg.copy_(pp)
        torch.cuda.synchronize()
        t["sync"] = time.perf_counter() - t0
        t["step"] = sum(t.values())
        t["completion_tokens"] = float(mask.sum(1).mean())
        print(f"torch step {step + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in t.items()), flush=True)
        times.append(t)
    steady = times[args.warmup:] if len(times) > args.warmup else times
    return {k: mean([t[k] for t in steady]) for k in times[0]}, torch.cuda.get_device_name()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grpo", default="bin/grpo")
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/train_bench"))
    ap.add_argument("--shape", default="qwen2-0.5b", choices=["qwen2-0.5b", "tiny"])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--torch-steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2, help="first steps left out of the means (compilation)")
    ap.add_argument("--rows", type=int, default=64, help="completions per optimizer step")
    ap.add_argument("--generations", type=int, default=8, help="G, completions per prompt")
    ap.add_argument("--chunk", type=int, default=16, help="rows per backward chunk")
    ap.add_argument("--prompt-len", type=int, default=256)
    ap.add_argument("--completion-len", type=int, default=512)
    ap.add_argument("--no-torch", action="store_true", help="grpo side only (no PyTorch on this machine)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = os.path.join(args.out, "work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    failures = []

    model_dir = make_model(args, work)
    data = make_data(args, work)
    rows, wall = grpo_run(args, model_dir, data, work)
    g = summarize_grpo(rows, args.warmup)
    print(f"grpo: {g['steps']} steps in {wall:.0f}s (model load and compilation included); steady step {g['step']:.2f}s = "
          f"generation {g['generation']:.2f} + scoring {g['scoring']:.3f} + log-probs {g['logprobs']:.2f} + update {g['update']:.2f} "
          f"+ sync {g['sync']:.3f} + optimizer {g['optimizer']:.2f}; {g['completion_tokens']:.0f} completion tokens per row", flush=True)
    if g["steps"] != args.steps:
        failures.append(f"grpo ran {g['steps']} steps, want {args.steps}")
    if not (g["loss_finite"] and g["grad_norm_finite"]):
        failures.append("grpo logged a non-finite loss or grad_norm")

    t, card = None, "cpu (dry run)"
    if not args.no_torch:
        t, card = torch_peer(args, model_dir, data)
    shape = "Qwen2-0.5B shape" if args.shape == "qwen2-0.5b" else "tiny"
    backend = os.environ.get("GOMLX_BACKEND", "go")
    row = (f"| {card} | GRPO step, {shape}, bf16, random weights | {args.rows} rows (G={args.generations}), prompt {args.prompt_len}, "
           f"completions ≤{args.completion_len} (mean {g['completion_tokens']:.0f}), chunks of {args.chunk} | "
           f"grpo {g['step']:.2f} s/step (gen {g['generation']:.2f}, score {g['scoring']:.3f}, logp {g['logprobs']:.2f}, "
           f"update {g['update']:.2f}, sync {g['sync']:.3f}, adamw {g['optimizer']:.2f})")
    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(), "card": card, "backend": backend,
              "args": vars(args), "grpo": g, "grpo_wall_seconds": wall}
    if t is not None:
        ratio = t["step"] / g["step"]
        row += (f" | PyTorch {t['step']:.2f} s/step (gen {t['generation']:.2f}, update {t['update']:.2f}, "
                f"sync {t['sync']:.3f}) | {ratio:.2f}× |")
        result["torch"], result["ratio_torch_over_grpo"] = t, ratio
        print(f"step time ratio PyTorch/grpo: {ratio:.2f} (>1: grpo faster)")
    else:
        row += " | – | – |"
    print("\n| card | run | geometry | grpo | PyTorch peer | PyTorch/grpo |\n|---|---|---|---|---|---|\n" + row)
    with open(os.path.join(args.out, "train_bench.json"), "w") as f:
        json.dump(result, f, indent=1)
    with open(os.path.join(args.out, "train_bench.md"), "w") as f:
        f.write(row + "\n")
    for msg in failures:
        print("FAIL:", msg)
    if not failures:
        print(f"PASS: grpo completed {g['steps']} GRPO steps on {backend.split(':')[0]} with finite loss and gradient norms; "
              f"steady step {g['step']:.2f}s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
