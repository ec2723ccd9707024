#!/usr/bin/env python3
"""Parity of grpo's Qwen2/Llama decoder (core/model) with transformers.

GPU machine (PyTorch + transformers; Go is not there, bin/grpo is built on the dev machine):
    python3 scripts/gpu/model_parity.py --grpo bin/grpo --out $OUT
builds small random checkpoints with transformers (several layers; GQA; tied and untied
embeddings; Qwen2 q/k/v biases; Llama with attention/MLP biases; Llama-3 and linear rope
scaling), saves them, runs a padded token batch (left padding, and one row padded on both
sides as GRPO's prompt+completion batches are) through PyTorch float32 (eager attention,
TF32 off) and through `grpo forward` (GOMLX_BACKEND, e.g. xla:cuda), and prints one line per
check:
    PASS/FAIL <model> <check>: max_rel_err=<max|grpo-torch| / max|torch| over real tokens> greedy=...
Checks: float32 full forward and float32 KV-cache path (prefill + 1-token decode steps) must
have max_rel_err <= 1e-4 and identical greedy next tokens (argmax at each row's last real
token); a checkpoint re-saved by grpo must give transformers bit-identical logits; bfloat16
(sdpa in torch, grpo's fused attention where available) is a sanity check, max_rel_err <= 5e-2.
Results go to $OUT/model_parity.json. Exit status 1 if any check fails.

Dev machine, no PyTorch (checks the Go side and this script's logic on the committed fixtures):
    python3 scripts/gpu/model_parity.py --grpo bin/grpo --fixtures core/model/testdata
"""
import argparse
import array
import json
import os
import subprocess
import sys
import tempfile

F32_TOL = 1e-4
BF16_TOL = 5e-2


def read_f32(path):
    a = array.array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    if sys.byteorder != "little":
        a.byteswap()
    return a


def flatten(logits):
    """[B][T][V] nested lists -> flat list."""
    return [v for b in logits for t in b for v in t]


def max_rel_err(got, want, mask, vocab):
    """max |got-want| / max |want| over positions with mask 1 (flat [B,T,V] sequences)."""
    cols = len(mask[0])
    max_diff = max_ref = 0.0
    for b, row in enumerate(mask):
        for t, m in enumerate(row):
            if not m:
                continue
            base = (b * cols + t) * vocab
            for i in range(base, base + vocab):
                max_diff = max(max_diff, abs(got[i] - want[i]))
                max_ref = max(max_ref, abs(want[i]))
    return max_diff / max_ref


def greedy(flat, mask, vocab):
    """argmax of the logits at each row's last real token."""
    cols = len(mask[0])
    out = []
    for b, row in enumerate(mask):
        t = max(i for i, m in enumerate(row) if m)
        base = (b * cols + t) * vocab
        seg = flat[base:base + vocab]
        out.append(max(range(vocab), key=seg.__getitem__))
    return out


def run_grpo(grpo, model_dir, batch_file, work, dtype="float32", cached=0, save=None):
    out = os.path.join(work, f"logits-{dtype}-{cached}.f32")
    cmd = [grpo, "forward", "--model", model_dir, "--input", batch_file, "--logits", out, "--dtype", dtype]
    if cached:
        cmd += ["--cached", str(cached)]
    if save:
        cmd += ["--save", save, "--save-dtype", "float32"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stderr[-4000:]}")
    info = json.loads(res.stdout.strip().splitlines()[-1])
    return read_f32(out), info


class Report:
    def __init__(self):
        self.rows = []
        self.failed = False

    def check(self, model, check, ok, **fields):
        self.failed |= not ok
        self.rows.append({"model": model, "check": check, "pass": ok, **fields})
        detail = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items())
        print(f"{'PASS' if ok else 'FAIL'} {model} {check}: {detail}", flush=True)


def compare(report, name, check, got, want, mask, vocab, want_greedy, tol, info):
    err = max_rel_err(got, want, mask, vocab)
    g = greedy(got, mask, vocab)
    same = g == want_greedy
    report.check(name, check, err <= tol and same, max_rel_err=err,
                 greedy="identical" if same else f"{g} vs {want_greedy}",
                 backend=info.get("backend"), dtype=info.get("dtype"), seconds=info.get("forward_seconds", 0.0))


def fixtures_mode(args, report):
    for name in sorted(os.listdir(args.fixtures)):
        d = os.path.join(args.fixtures, name)
        exp_path = os.path.join(d, "expected.json")
        if not os.path.exists(exp_path):
            continue
        with open(exp_path) as f:
            exp = json.load(f)
        mask = exp["attention_mask"]
        want = flatten(exp["logits"])
        vocab = len(exp["logits"][0][0])
        want_greedy = greedy(want, mask, vocab)
        assert want_greedy == exp["greedy_next"], "fixture greedy_next disagrees with its logits"
        with tempfile.TemporaryDirectory() as work:
            for cached in (0, len(mask[0]) // 2):
                got, info = run_grpo(args.grpo, d, exp_path, work, cached=cached)
                # tiny-qwen2-bf16's expected logits were computed after model.to(bfloat16), which
                # also rounds the rotary inv_freq buffer (grpo keeps it in float32): ~1.2e-4 there.
                tol = 2e-4 if name.endswith("bf16") else F32_TOL
                compare(report, name, "f32 cached" if cached else "f32 full", got, want, mask, vocab, want_greedy, tol, info)


# ---------------------------------------------------------------------------------------------
# GPU mode: transformers-built checkpoints.

SPECS = {
    # Qwen2: tied embeddings, q/k/v biases (no o_proj bias), GQA 8/2, rope_theta 1e6.
    "qwen2-tied": ("qwen2", dict(vocab_size=1024, hidden_size=256, intermediate_size=512, num_hidden_layers=4,
                                 num_attention_heads=8, num_key_value_heads=2, rope_theta=1e6, rms_norm_eps=1e-6,
                                 tie_word_embeddings=True, max_position_embeddings=512)),
    # Qwen2 untied, GQA 6/3.
    "qwen2-untied": ("qwen2", dict(vocab_size=1024, hidden_size=192, intermediate_size=384, num_hidden_layers=3,
                                   num_attention_heads=6, num_key_value_heads=3, rope_theta=1e4, rms_norm_eps=1e-6,
                                   tie_word_embeddings=False, max_position_embeddings=512)),
    # Llama 3.1 style: untied, GQA 4/1, head_dim 64, Llama-3 rope scaling with a small original
    # context so the high, blended and low frequency bands all occur within 64 positions.
    "llama3-scaled": ("llama", dict(vocab_size=1024, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                                    num_attention_heads=4, num_key_value_heads=1, rope_theta=500000.0, rms_norm_eps=1e-5,
                                    tie_word_embeddings=False, max_position_embeddings=512,
                                    rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                  "high_freq_factor": 4.0, "original_max_position_embeddings": 32})),
    # Llama with attention and MLP biases, no GQA, linear rope scaling.
    "llama-bias-linear": ("llama", dict(vocab_size=1024, hidden_size=256, intermediate_size=512, num_hidden_layers=3,
                                        num_attention_heads=4, num_key_value_heads=4, rope_theta=10000.0,
                                        rms_norm_eps=1e-6, tie_word_embeddings=False, attention_bias=True,
                                        mlp_bias=True, max_position_embeddings=512,
                                        rope_scaling={"rope_type": "linear", "factor": 2.0})),
}


def make_batch(vocab, seed, torch):
    """B=4, T=64: no padding; 9 and 40 left pads; 5 left pads + 7 right pads (prompt+completion)."""
    g = torch.Generator().manual_seed(seed)
    B, T = 4, 64
    ids = torch.randint(3, vocab, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, :9] = 0
    mask[2, :40] = 0
    mask[3, :5] = 0
    mask[3, -7:] = 0
    ids[mask == 0] = 0
    pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
    return ids, mask, pos


def build_checkpoint(torch, family, kw, seed, path):
    """Saves a transformers checkpoint of family ("qwen2" or "llama") with config kwargs kw and seeded
    random weights at path (norms near 1, biases and projections scaled so logits stay O(1)), and
    returns its config. sampler_parity.py builds its checkpoints with it too."""
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM
    cls_cfg, cls_model = (Qwen2Config, Qwen2ForCausalLM) if family == "qwen2" else (LlamaConfig, LlamaForCausalLM)
    cfg = cls_cfg(bos_token_id=1, eos_token_id=2, pad_token_id=0, attn_implementation="eager", **kw)
    torch.manual_seed(seed)
    model = cls_model(cfg)
    gen = torch.Generator().manual_seed(100 + seed)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if pname.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif pname.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif "embed_tokens" in pname or "lm_head" in pname:
                p.copy_(torch.randn(p.shape, generator=gen) / p.shape[1] ** 0.5 * 4)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) / p.shape[1] ** 0.5)
    model.save_pretrained(path)
    return cfg


def gpu_mode(args, report):
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, device {device}, "
          f"GOMLX_BACKEND={os.environ.get('GOMLX_BACKEND', '')}", flush=True)
    work_root = tempfile.mkdtemp(prefix="model_parity_")
    for seed, (name, (family, kw)) in enumerate(SPECS.items()):
        d = os.path.join(work_root, name)
        cfg = build_checkpoint(torch, family, kw, seed, d)
        ids, mask, pos = make_batch(cfg.vocab_size, 1000 + seed, torch)
        batch_file = os.path.join(d, "batch.json")
        with open(batch_file, "w") as f:
            json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "position_ids": pos.tolist()}, f)
        mask_l = mask.tolist()
        vocab = cfg.vocab_size

        def torch_logits(path, dtype, attn):
            m = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation=attn).to(device).eval()
            with torch.no_grad():
                out = m(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=pos.to(device))
            return array.array("f", out.logits.float().flatten().cpu().tolist())

        want = torch_logits(d, torch.float32, "eager")
        want_greedy = greedy(want, mask_l, vocab)
        with tempfile.TemporaryDirectory() as work:
            resaved = os.path.join(work, "resaved")
            got, info = run_grpo(args.grpo, d, batch_file, work, save=resaved)
            compare(report, name, "f32 full", got, want, mask_l, vocab, want_greedy, F32_TOL, info)
            got, info = run_grpo(args.grpo, d, batch_file, work, cached=24)
            compare(report, name, "f32 cached", got, want, mask_l, vocab, want_greedy, F32_TOL, info)
            again = torch_logits(resaved, torch.float32, "eager")
            diff = max(abs(a - b) for a, b in zip(again, want))
            report.check(name, "grpo-saved checkpoint in transformers", diff == 0.0, max_abs_diff=diff)
            want_bf = torch_logits(d, torch.bfloat16, "sdpa")
            got, info = run_grpo(args.grpo, d, batch_file, work, dtype="bfloat16")
            err = max_rel_err(got, want_bf, mask_l, vocab)
            g = greedy(got, mask_l, vocab)
            report.check(name, "bf16 full (sanity)", err <= BF16_TOL, max_rel_err=err,
                         greedy_agree=f"{sum(a == b for a, b in zip(g, greedy(want_bf, mask_l, vocab)))}/{len(g)}",
                         seconds=info.get("forward_seconds", 0.0))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grpo", default="bin/grpo", help="the grpo binary")
    ap.add_argument("--out", default=os.environ.get("OUT", ""), help="directory for model_parity.json")
    ap.add_argument("--fixtures", help="check committed fixtures instead of building checkpoints (no PyTorch)")
    ap.add_argument("--device", help="PyTorch device (default: cuda if available)")
    args = ap.parse_args()
    report = Report()
    if args.fixtures:
        fixtures_mode(args, report)
    else:
        gpu_mode(args, report)
    n_fail = sum(not r["pass"] for r in report.rows)
    print(f"{'FAIL' if report.failed else 'PASS'} model parity: {len(report.rows) - n_fail}/{len(report.rows)} checks passed")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "model_parity.json"), "w") as f:
            json.dump({"checks": report.rows, "GOMLX_BACKEND": os.environ.get("GOMLX_BACKEND", "")}, f, indent=1)
    sys.exit(1 if report.failed else 0)


if __name__ == "__main__":
    main()
