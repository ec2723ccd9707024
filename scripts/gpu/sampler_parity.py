#!/usr/bin/env python3
"""Greedy parity of grpo's local sampler (backends/local) with transformers' generate.

GPU machine (PyTorch + transformers; bin/grpo built on the dev machine):
    python3 scripts/gpu/sampler_parity.py --grpo bin/grpo --out $OUT
builds random tiny Qwen2 (tied embeddings, q/k/v biases, GQA) and Llama (untied, Llama-3 rope
scaling) checkpoints with transformers (the shapes of scripts/gpu/model_parity.py), and for a
left-padded batch of 4 prompts (64, 55, 24 and 9 tokens) compares 64-token greedy continuations:
transformers generate(do_sample=False) in float32 (eager attention, TF32 off) against
`grpo generate temperature=0` in float32, with the device decode loop and with one step per call
(EOS ignored on both sides). One line per check:
    PASS/FAIL <model> <check>: rows=<identical>/<4> ties=<rows that diverge at a near-tie> ...
A row passes when its 64 tokens are identical, or when it first diverges at a step where
transformers' top-2 logits are within 1e-4 of each other (a float32 near-tie, reported as a
tie). The log-prob of every matching token must equal transformers' log_softmax within 2e-3.
A bfloat16 run (grpo's bf16 weight copy against transformers in bf16) is reported as a sanity
line (matching prefix lengths), not a pass condition. Results go to $OUT/sampler_parity.json.
Exit status 1 if a check fails.

Dev machine, no PyTorch (checks the Go side and this script's logic on the committed fixtures:
the first greedy token of each fixture prompt must be transformers' greedy_next):
    python3 scripts/gpu/sampler_parity.py --grpo bin/grpo --fixtures core/model/testdata
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

NEW_TOKENS = 64
TIE = 1e-4
LOGPROB_TOL = 2e-3
PROMPT_LENS = (64, 55, 24, 9)


class Report:
    def __init__(self):
        self.rows = []
        self.failed = False

    def check(self, model, check, ok, **fields):
        if ok is not None:
            self.failed |= not ok
        self.rows.append({"model": model, "check": check, "pass": ok, **fields})
        detail = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items())
        status = "INFO" if ok is None else ("PASS" if ok else "FAIL")
        print(f"{status} {model} {check}: {detail}", flush=True)


def run_grpo_generate(grpo, model_dir, prompts, work, new_tokens, loop="auto", dtype="float32"):
    """Runs `grpo generate` on token-id prompts; returns (completions, stderr summary)."""
    data = os.path.join(work, "prompts.jsonl")
    with open(data, "w") as f:
        for p in prompts:
            f.write(json.dumps({"prompt_ids": p}) + "\n")
    cmd = [grpo, "generate", "--model", model_dir, "--data", data, "--json", "--ignore-eos", "--dtype", dtype,
           "--loop", loop, "temperature=0", "num_generations=1", f"max_completion_length={new_tokens}",
           "max_prompt_length=0"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stderr[-4000:]}")
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    rows.sort(key=lambda r: (r["prompt_index"], r["completion_index"]))
    return rows, res.stderr.strip().splitlines()[-1] if res.stderr.strip() else ""


def fixtures_mode(args, report):
    for name in sorted(os.listdir(args.fixtures)):
        d = os.path.join(args.fixtures, name)
        exp_path = os.path.join(d, "expected.json")
        if not os.path.exists(exp_path):
            continue
        with open(exp_path) as f:
            exp = json.load(f)
        prompts = [[t for t, m in zip(ids, mask) if m] for ids, mask in zip(exp["input_ids"], exp["attention_mask"])]
        with tempfile.TemporaryDirectory() as work:
            for loop in ("auto", "host"):
                rows, summary = run_grpo_generate(args.grpo, d, prompts, work, 4, loop=loop)
                first = [r["completion_ids"][0] for r in rows]
                ok = first == exp["greedy_next"]
                report.check(name, f"first greedy token ({loop} loop)", ok,
                             tokens="identical" if ok else f"{first} vs {exp['greedy_next']}", summary=summary)


# ---------------------------------------------------------------------------------------------
# GPU mode.

def hf_greedy(torch, path, prompts, dtype, device):
    """transformers generate(do_sample=False) on the left-padded batch: tokens and the scores."""
    from transformers import AutoModelForCausalLM, GenerationConfig
    attn = "eager" if dtype == torch.float32 else "sdpa"
    m = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation=attn).to(device).eval()
    m.generation_config.eos_token_id = None  # 64 tokens on both sides (grpo runs with --ignore-eos)
    width = max(len(p) for p in prompts)
    ids = torch.zeros(len(prompts), width, dtype=torch.long)
    mask = torch.zeros(len(prompts), width, dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, width - len(p):] = torch.tensor(p)
        mask[i, width - len(p):] = 1
    gc = GenerationConfig(max_new_tokens=NEW_TOKENS, do_sample=False, pad_token_id=0, bos_token_id=1,
                          eos_token_id=None, output_scores=True, return_dict_in_generate=True)
    with torch.no_grad():
        out = m.generate(input_ids=ids.to(device), attention_mask=mask.to(device), generation_config=gc)
    tokens = out.sequences[:, width:].tolist()
    scores = torch.stack(out.scores, dim=1).float()  # [B, steps, V]
    logprobs = torch.log_softmax(scores, dim=-1)
    top2 = torch.topk(scores, 2, dim=-1).values
    gaps = (top2[..., 0] - top2[..., 1]).cpu().tolist()
    chosen_lp = torch.gather(logprobs, 2, out.sequences[:, width:].unsqueeze(-1)).squeeze(-1).cpu().tolist()
    return tokens, chosen_lp, gaps


def compare_rows(hf_tokens, hf_lp, gaps, rows):
    """Per row: identical, a near-tie divergence, or a real mismatch; and the log-prob error."""
    identical = ties = 0
    bad = []
    max_lp_err = 0.0
    for i, r in enumerate(rows):
        got, want = r["completion_ids"], hf_tokens[i]
        k = next((j for j, (a, b) in enumerate(zip(got, want)) if a != b), None)
        if k is None and len(got) != len(want):
            k = min(len(got), len(want))
        upto = len(want) if k is None else k
        for j in range(upto):
            max_lp_err = max(max_lp_err, abs(r["logprobs"][j] - hf_lp[i][j]))
        if k is None:
            identical += 1
        elif k < len(gaps[i]) and gaps[i][k] < TIE:
            ties += 1
        else:
            bad.append(f"row {i} diverges at token {k} (gap {gaps[i][k] if k < len(gaps[i]) else float('nan'):.3g}): "
                       f"grpo {got[k:k + 4]} transformers {want[k:k + 4]}")
    return identical, ties, bad, max_lp_err


def gpu_mode(args, report):
    import torch
    import transformers
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from model_parity import SPECS, build_checkpoint  # the model parity check's checkpoints

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, device {device}, "
          f"GOMLX_BACKEND={os.environ.get('GOMLX_BACKEND', '')}", flush=True)
    root = tempfile.mkdtemp(prefix="sampler_parity_")
    for seed, name in enumerate(args.models):
        family, kw = SPECS[name]
        d = os.path.join(root, name)
        cfg = build_checkpoint(torch, family, kw, seed, d)
        gen = torch.Generator().manual_seed(2000 + seed)
        prompts = [torch.randint(3, cfg.vocab_size, (n,), generator=gen).tolist() for n in PROMPT_LENS]
        hf_tokens, hf_lp, gaps = hf_greedy(torch, d, prompts, torch.float32, device)
        with tempfile.TemporaryDirectory() as work:
            for loop in ("device", "host"):
                try:
                    rows, summary = run_grpo_generate(args.grpo, d, prompts, work, NEW_TOKENS, loop=loop)
                except RuntimeError as e:
                    report.check(name, f"f32 greedy {NEW_TOKENS} tokens, {loop} loop", False, error=str(e)[-1500:])
                    continue
                identical, ties, bad, lp_err = compare_rows(hf_tokens, hf_lp, gaps, rows)
                ok = not bad and lp_err <= LOGPROB_TOL
                report.check(name, f"f32 greedy {NEW_TOKENS} tokens, {loop} loop", ok, rows=f"{identical}/{len(rows)}",
                             ties=ties, max_logprob_err=lp_err, mismatches="; ".join(bad) or "none", summary=summary)
            bf_tokens, _, _ = hf_greedy(torch, d, prompts, torch.bfloat16, device)
            rows, summary = run_grpo_generate(args.grpo, d, prompts, work, NEW_TOKENS, dtype="bfloat16")
            prefix = []
            for i, r in enumerate(rows):
                got, want = r["completion_ids"], bf_tokens[i]
                prefix.append(next((j for j, (a, b) in enumerate(zip(got, want)) if a != b), len(want)))
            report.check(name, "bf16 greedy (sanity)", None, matching_prefix=prefix, summary=summary)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grpo", default="bin/grpo", help="the grpo binary")
    ap.add_argument("--out", default=os.environ.get("OUT", ""), help="directory for sampler_parity.json")
    ap.add_argument("--fixtures", help="check committed fixtures instead of building checkpoints (no PyTorch)")
    ap.add_argument("--models", nargs="+", default=["qwen2-tied", "llama3-scaled"],
                    help="model_parity.py SPECS names to build")
    ap.add_argument("--device", help="PyTorch device (default: cuda if available)")
    args = ap.parse_args()
    report = Report()
    if args.fixtures:
        fixtures_mode(args, report)
    else:
        gpu_mode(args, report)
    checks = [r for r in report.rows if r["pass"] is not None]
    n_fail = sum(not r["pass"] for r in checks)
    print(f"{'FAIL' if report.failed else 'PASS'} sampler parity: {len(checks) - n_fail}/{len(checks)} checks passed")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "sampler_parity.json"), "w") as f:
            json.dump({"checks": report.rows, "GOMLX_BACKEND": os.environ.get("GOMLX_BACKEND", "")}, f, indent=1)
    sys.exit(1 if report.failed else 0)


if __name__ == "__main__":
    main()
