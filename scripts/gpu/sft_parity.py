#!/usr/bin/env python3
"""Parity of `grpo sft` with a PyTorch reference step (issue 6 acceptance).

GPU machine (PyTorch, transformers, tokenizers, safetensors; bin/grpo built on the dev machine):
    python3 scripts/gpu/sft_parity.py --grpo bin/grpo --out $OUT
Dev machine (no PyTorch: runs and checks the Go side only):
    python3 scripts/gpu/sft_parity.py --grpo bin/grpo --out /tmp/sft_parity --go-only

The model is core/model/testdata/tiny-qwen2 (made by transformers) with the byte-level tokenizer
of core/train/testdata/tiny-qwen2-tokenizer. Eight prompt/completion rows of plain text; one
optimizer step of 8 sequences as 2 micro-batches of 4 (gradient accumulation), loss on the
completion tokens and the appended EOS only (completion_only_training), AdamW (lr 1e-3, betas
0.9/0.95, eps 1e-8, weight decay 0.01 except biases and norms), global-norm clipping at 1.0,
constant schedule.

`grpo sft` runs once per GoMLX backend: GOMLX_BACKEND (XLA CUDA on the GPU machine) and "go".
The reference tokenizes with HF tokenizers, computes transformers' causal-LM loss (labels −100
outside the completion; the mean over every label token of the step, as Trainer with
num_items_in_batch) in float64 on the CPU, clips with torch.nn.utils.clip_grad_norm_ and steps
torch.optim.AdamW with HF's decay groups. Checks (relative, PASS at <= 1e-4):
    loss        |loss_go - loss_ref| / |loss_ref|               (metrics.jsonl row 1)
    grad_norm   |norm_go - norm_ref| / norm_ref                 (pre-clip global norm)
    update      max over tensors ||dW_go - dW_ref|| / ||dW_ref||, dW = W_after - W_before
    weights     max over tensors max|W_go - W_ref| / max|W_ref|
Results: $OUT/sft_parity.json. Exit status 1 if a check fails.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

TOL = 1e-4
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURE = os.path.join(ROOT, "core", "model", "testdata", "tiny-qwen2")
TOKENIZER = os.path.join(ROOT, "core", "train", "testdata", "tiny-qwen2-tokenizer")
EOS = 2  # tiny-qwen2's eos_token_id; the tokenizer's eos_token is the byte symbol of id 2

ROWS = [
    {"prompt": "What is 12 + 7?\n", "completion": "12 + 7 = 19."},
    {"prompt": "Sum 3 and 4.\n", "completion": "7"},
    {"prompt": "Tom has 5 apples. He gets 8 more.\n", "completion": "5 + 8 = 13. So 13."},
    {"prompt": "Q: 100 - 1\n", "completion": "99"},
    {"prompt": "Repeat: abc\n", "completion": "abc abc"},
    {"prompt": "Zoë's total?\n", "completion": "It is 42 (forty-two)."},
    {"prompt": "x\n", "completion": "y"},
    {"prompt": "Count to five:\n", "completion": "1 2 3 4 5"},
]

ARGS = ["dataset_format=prompt", "completion_column=completion", "apply_chat_template=false",
        "completion_only_training=true", "packing=false", "max_seq_length=64",
        "per_device_train_batch_size=4", "gradient_accumulation_steps=2", "max_steps=1",
        "learning_rate=1e-3", "lr_scheduler_type=constant", "warmup_ratio=0", "warmup_steps=0",
        "adam_beta1=0.9", "adam_beta2=0.95", "adam_epsilon=1e-8", "weight_decay=0.01",
        "max_grad_norm=1.0", "logging_steps=1", "save_strategy=no", "bf16=false", "seed=3",
        "report_to=[\"none\"]"]


def run_go(grpo, work, backend):
    model_dir = os.path.join(work, "model")
    if not os.path.isdir(model_dir):
        os.makedirs(model_dir)
        for src in (FIXTURE, TOKENIZER):
            for name in os.listdir(src):
                if name != "expected.json":
                    shutil.copy(os.path.join(src, name), model_dir)
        with open(os.path.join(work, "train.jsonl"), "w") as f:
            for r in ROWS:
                f.write(json.dumps(r) + "\n")
    out = os.path.join(work, "go-" + backend.split(":")[0])
    env = dict(os.environ, GOMLX_BACKEND=backend)
    cmd = [grpo, "sft", "model_name_or_path=" + model_dir, "dataset_id_or_path=" + os.path.join(work, "train.jsonl"),
           "output_dir=" + out] + ARGS
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"FAIL: grpo sft ({backend}) exited with {proc.returncode}")
    with open(os.path.join(out, "metrics.jsonl")) as f:
        row = json.loads(f.readline())
    return model_dir, out, row


def reference(model_dir):
    import torch
    from safetensors.torch import load_file
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM

    torch.backends.cuda.matmul.allow_tf32 = False
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    seqs, labels = [], []
    for r in ROWS:
        full = tok.encode(r["prompt"] + r["completion"], add_special_tokens=False).ids + [EOS]
        prompt = tok.encode(r["prompt"], add_special_tokens=False).ids
        start = 0
        while start < len(prompt) and prompt[start] == full[start]:
            start += 1
        seqs.append(full)
        labels.append([-100 if i < max(start, 1) else t for i, t in enumerate(full)])
    width = max(len(s) for s in seqs)
    if width > 64:  # grpo would cut the row at max_seq_length=64 and the two steps would differ
        raise SystemExit(f"FAIL: a row has {width} tokens, more than max_seq_length=64")
    ids = torch.tensor([s + [0] * (width - len(s)) for s in seqs])
    lab = torch.tensor([l + [-100] * (width - len(l)) for l in labels])
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])

    model = AutoModelForCausalLM.from_pretrained(model_dir, attn_implementation="eager", dtype=torch.float64)
    model.train()
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    loss = model(input_ids=ids, attention_mask=mask, labels=lab).loss
    loss.backward()
    # HF Trainer's groups (get_decay_parameter_names): no decay for biases and norm weights.
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if name.endswith(".bias") or "norm" in name else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    after = {k: v.detach().clone() for k, v in model.named_parameters()}
    return float(loss), float(norm), before, after, load_file


def compare(out, ref, row):
    import torch
    loss, norm, before, after, load_file = ref
    got = load_file(os.path.join(out, "model.safetensors"))
    res = {"loss_go": row["loss"], "loss_ref": loss, "grad_norm_go": row["grad_norm"], "grad_norm_ref": norm,
           "loss_rel": abs(row["loss"] - loss) / abs(loss), "grad_norm_rel": abs(row["grad_norm"] - norm) / norm}
    upd, wts, worst = 0.0, 0.0, ""
    for name, w_ref in after.items():
        if name not in got:
            raise SystemExit(f"FAIL: {out}/model.safetensors has no tensor {name}")
        w_go = got[name].to(torch.float64)
        d_ref = w_ref - before[name]
        d_go = w_go - before[name]
        e = float((d_go - d_ref).norm() / d_ref.norm())
        if e > upd:
            upd, worst = e, name
        wts = max(wts, float((w_go - w_ref).abs().max() / w_ref.abs().max()))
    res.update({"update_rel": upd, "update_worst_tensor": worst, "weights_rel": wts})
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--grpo", default="bin/grpo")
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/sft_parity"))
    ap.add_argument("--go-only", action="store_true", help="run the Go side only (no PyTorch here)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="sft_parity-")
    backends = [os.environ.get("GOMLX_BACKEND", "go")]
    if backends[0] != "go":
        backends.append("go:ops_sequential")
    runs = {}
    for b in backends:
        model_dir, out, row = run_go(args.grpo, work, b)
        runs[b] = (out, row)
        print(f"grpo sft on {b.split(':')[0]}: loss {row['loss']:.8f} grad_norm {row['grad_norm']:.8f}")
    results = {"tolerance": TOL, "runs": {}}
    ok = True
    if args.go_only:
        a = runs[backends[0]][1]
        ok = a["loss"] > 0 and a["grad_norm"] > 0
        print(("PASS" if ok else "FAIL") + " go side ran (no PyTorch reference in --go-only mode)")
        results["runs"] = {b: r for b, (_, r) in runs.items()}
    else:
        ref = reference(model_dir)
        print(f"reference (torch float64): loss {ref[0]:.8f} grad_norm {ref[1]:.8f}")
        for b, (out, row) in runs.items():
            r = compare(out, ref, row)
            results["runs"][b] = r
            for key in ("loss_rel", "grad_norm_rel", "update_rel", "weights_rel"):
                good = r[key] <= TOL
                ok = ok and good
                extra = f" ({r['update_worst_tensor']})" if key == "update_rel" else ""
                print(f"{'PASS' if good else 'FAIL'} sft {b.split(':')[0]} {key}={r[key]:.3e}{extra}")
    with open(os.path.join(args.out, "sft_parity.json"), "w") as f:
        json.dump(results, f, indent=2)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
