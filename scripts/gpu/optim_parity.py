#!/usr/bin/env python3
"""Replays core/optim's AdamW parity scenario with PyTorch and compares.

Input: DIR/go_adamw.json written by `optim.test -test.run '^TestTorchParityDump$'` (initial
weights, every micro-batch, the learning rate of each step, and the GoMLX results). PyTorch runs
the same steps the way HF Trainer does: loss / gradient_accumulation_steps per micro-batch,
torch.nn.utils.clip_grad_norm_(max_grad_norm), torch.optim.AdamW with two parameter groups
(weight decay off for biases and norms by HF's name patterns), the learning rate set per step.
Prints PASS/FAIL lines with the numbers and writes DIR/optim_parity.json.
"""
import json
import re
import sys

import torch

HF_NO_DECAY = [r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)"]


def main(d):
    with open(f"{d}/go_adamw.json") as f:
        go = json.load(f)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    params = [torch.tensor(v, dtype=torch.float32, device=dev).reshape(dims).requires_grad_(True)
              for v, dims in zip(go["init"], go["dims"])]
    decay = [not any(re.search(p, n.lower()) for p in HF_NO_DECAY) for n in go["names"]]
    groups = [
        {"params": [p for p, dc in zip(params, decay) if dc], "weight_decay": go["weight_decay"]},
        {"params": [p for p, dc in zip(params, decay) if not dc], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=1.0, betas=(go["beta1"], go["beta2"]), eps=go["eps"])
    W, b, n = params
    results = {"device": dev, "torch": torch.__version__, "go_backend": go["backend"], "steps": []}
    ok = True
    mask_ok = decay == go["decay"]
    print(f"{'PASS' if mask_ok else 'FAIL'} weight-decay mask: torch/HF {decay}, go {go['decay']}")
    ok &= mask_ok
    worst_p = worst_norm = worst_loss = 0.0
    for k, step in enumerate(go["steps"]):
        opt.zero_grad(set_to_none=True)
        ga = len(step["micro"])
        for m, mb in enumerate(step["micro"]):
            x = torch.tensor(mb["x"], dtype=torch.float32, device=dev)
            y = torch.tensor(mb["y"], dtype=torch.float32, device=dev)
            loss = (((x @ W + b) * n - y) ** 2).mean()
            (loss / ga).backward()
            gl = go["losses"][k][m]
            worst_loss = max(worst_loss, abs(loss.item() - gl) / max(abs(loss.item()), 1e-12))
        norm = torch.nn.utils.clip_grad_norm_(params, go["max_grad_norm"]).item()
        for g in opt.param_groups:
            g["lr"] = step["lr"]
        opt.step()
        rel_norm = abs(norm - go["grad_norms"][k]) / max(norm, 1e-12)
        worst_norm = max(worst_norm, rel_norm)
        max_abs = 0.0
        for p, ga_after in zip(params, go["after"][k]):
            gp = torch.tensor(ga_after, dtype=torch.float32, device=dev).reshape(p.shape)
            max_abs = max(max_abs, (p.detach() - gp).abs().max().item())
        worst_p = max(worst_p, max_abs)
        results["steps"].append({"step": k + 1, "lr": step["lr"], "torch_grad_norm": norm,
                                 "go_grad_norm": go["grad_norms"][k], "max_abs_param_diff": max_abs,
                                 "clipped": norm > go["max_grad_norm"]})
        print(f"  step {k+1}: lr {step['lr']:.3e} grad_norm torch {norm:.6f} go {go['grad_norms'][k]:.6f}"
              f" (rel {rel_norm:.2e}) max|Δparam| {max_abs:.3e}")
    clipped = sum(s["clipped"] for s in results["steps"])
    # float32 on both sides, different reduction orders: a few ulps; Adam's normalised step keeps
    # parameter differences near lr·1e-6 per step.
    checks = [("loss", worst_loss, 1e-5), ("grad_norm", worst_norm, 1e-5), ("params", worst_p, 1e-5)]
    for name, val, tol in checks:
        good = val <= tol
        ok &= good
        print(f"{'PASS' if good else 'FAIL'} {name}: worst {'relative' if name != 'params' else 'absolute'} "
              f"difference {val:.3e} (tolerance {tol:.0e}) over {len(go['steps'])} steps, {clipped} clipped")
    results.update({"worst_rel_loss": worst_loss, "worst_rel_grad_norm": worst_norm, "worst_abs_param": worst_p, "pass": bool(ok)})
    with open(f"{d}/optim_parity.json", "w") as f:
        json.dump(results, f, indent=1)
    print(("PASS" if ok else "FAIL") + f" optim parity (go backend {go['backend']}, torch {torch.__version__} on {dev})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
