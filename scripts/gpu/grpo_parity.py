#!/usr/bin/env python3
"""GRPO objective parity: core/grpo (Go, GoMLX) against PyTorch autograd on the TRL formulas.

Reads the directory written by `grpo bench grpo-parity` (manifest.json plus raw little-endian
float32/int32 files), recomputes with PyTorch, from the same inputs:

  * per-token log-probs and entropies of the tempered softmax (TRL trl/trainer/utils.py
    selective_log_softmax / entropy_from_logits; logits divided by the temperature as in
    grpo_trainer.py `logits.div_(self.temperature)` and RLT unbias_log_probabilities),
  * the k3 KL, the loss of every case (TRL HEAD grpo_trainer.py _compute_loss, loss types grpo,
    bnpo, dr_grpo, dapo, clipping with epsilon/epsilon_high against old log-probs, beta * KL),
  * gradients of each case's objective with respect to the hidden states (and the projection where
    the dump has them), by torch autograd through logits = hidden @ proj.T.

The reference runs in float64 by default (--dtype float32 for a float32 torch run), so the numbers
measure the error of the Go float32 computation. Relative error of a tensor is max|go - ref| /
max|ref| (normwise: elementwise ratios are meaningless where values cross zero). For a loss the
denominator is the same aggregation applied to |per-token loss| (the scale of the summands: the
loss itself is a cancelling sum of signed advantages). PASS if every error <= --tol (1e-5).
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torch.utils.checkpoint


def load(dirname, manifest, name):
    t = manifest["tensors"][name]
    dtype = {"float32": "<f4", "int32": "<i4"}[t["dtype"]]
    data = np.fromfile(os.path.join(dirname, t["file"]), dtype=dtype)
    expected = int(np.prod(t["shape"]))
    if data.size != expected:
        raise SystemExit(f"FAIL {t['file']}: {data.size} values, manifest shape {t['shape']} needs {expected}")
    return data.reshape(t["shape"])


# --- TRL formulas (trl/trainer/utils.py at HEAD f2cd577), transcribed -------------------------

def selective_log_softmax(logits, index):
    # float32/float64 branch: gather the chosen logit, subtract logsumexp.
    selected = torch.gather(logits, dim=-1, index=index.unsqueeze(-1)).squeeze(-1)
    return selected - torch.logsumexp(logits, dim=-1)


def entropy_from_logits(logits):
    logps = F.log_softmax(logits, dim=-1)
    return -(torch.exp(logps) * logps).sum(-1)


def logps_and_entropy(hidden, proj, targets, temperature, chunk_rows):
    """Per-token log-probs and entropies, [B, T]. Rows are processed in chunks under activation
    checkpointing (torch.utils.checkpoint) so that float64 [B*T, V] logits never exist whole."""
    b, t, d = hidden.shape
    flat_h = hidden.reshape(b * t, d)
    flat_y = targets.reshape(b * t)

    def chunk_fn(h, w, y):
        logits = h @ w.T
        logits = logits / temperature  # TRL: logits.div_(self.temperature)
        return selective_log_softmax(logits, y), entropy_from_logits(logits)

    lps, ents = [], []
    for s in range(0, b * t, chunk_rows):
        h = flat_h[s:s + chunk_rows]
        y = flat_y[s:s + chunk_rows]
        if torch.is_grad_enabled() and (h.requires_grad or proj.requires_grad):
            lp, ent = torch.utils.checkpoint.checkpoint(chunk_fn, h, proj, y, use_reentrant=False)
        else:
            lp, ent = chunk_fn(h, proj, y)
        lps.append(lp)
        ents.append(ent)
    return torch.cat(lps).reshape(b, t), torch.cat(ents).reshape(b, t)


def grpo_loss(case, per_token_logps, mask, advantages, old_per_token_logps, ref_per_token_logps):
    """TRL HEAD GRPOTrainer._compute_loss (token-level importance sampling, no vLLM correction,
    no delta, no entropy mask), returning (loss, per_token_kl, scale): scale is the same
    aggregation of |per-token loss|."""
    advantages = advantages.unsqueeze(1)
    if old_per_token_logps is None:
        old_per_token_logps = per_token_logps.detach()
    log_ratio = per_token_logps - old_per_token_logps
    coef_1 = torch.exp(log_ratio)
    per_token_kl = None
    if case["beta"] != 0.0:
        per_token_kl = (torch.exp(ref_per_token_logps - per_token_logps)
                        - (ref_per_token_logps - per_token_logps) - 1)
    epsilon_low = case["epsilon"]
    epsilon_high = case["epsilon_high"] or case["epsilon"]
    coef_2 = torch.clamp(coef_1, 1 - epsilon_low, 1 + epsilon_high)
    per_token_loss1 = coef_1 * advantages
    per_token_loss2 = coef_2 * advantages
    per_token_loss = -torch.min(per_token_loss1, per_token_loss2)
    if case["beta"] != 0.0:
        per_token_loss = per_token_loss + case["beta"] * per_token_kl

    def aggregate(x):
        lt = case["loss_type"]
        ga = case["gradient_accumulation_steps"]
        if lt == "grpo":
            return ((x * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean() / ga
        if lt == "bnpo":
            return (x * mask).sum() / mask.sum().clamp(min=1.0) / ga
        if lt == "dr_grpo":
            return (x * mask).sum() / (x.size(0) * case["max_completion_length"]) / ga
        if lt == "dapo":
            normalizer = torch.tensor(case["num_items_in_batch"], dtype=x.dtype).clamp(min=1.0)  # / num_processes = 1
            return (x * mask).sum() / normalizer
        raise SystemExit(f"FAIL unknown loss type {lt}")

    return aggregate(per_token_loss), per_token_kl, aggregate(per_token_loss.detach().abs())


# --- comparison ----------------------------------------------------------------------------

def rel_err(go, ref):
    go = np.asarray(go, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    denom = max(float(np.max(np.abs(ref))), 1e-30)
    return float(np.max(np.abs(go - ref))) / denom


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dump", help="directory written by `grpo bench grpo-parity`")
    ap.add_argument("--out", default=os.environ.get("OUT"), help="write grpo_parity.json here")
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--chunk-rows", type=int, default=2048)
    args = ap.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dt = {"float64": torch.float64, "float32": torch.float32}[args.dtype]
    dev = torch.device(args.device)
    m = json.load(open(os.path.join(args.dump, "manifest.json")))

    def tensor(name, dtype=dt):
        return torch.from_numpy(load(args.dump, m, name).copy()).to(device=dev, dtype=dtype)

    hidden0, proj0 = tensor("hidden"), tensor("proj")
    targets = tensor("targets", torch.int64)
    mask, adv = tensor("mask"), tensor("advantages")
    old, ref = tensor("old_logp"), tensor("ref_logp")
    temp = m["temperature"]
    device_name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(f"grpo parity: B*G={m['batch']} T={m['seq']} V={m['vocab']} D={m['dim']} temperature={temp}")
    print(f"  go backend: {m['backend']}")
    print(f"  torch {torch.__version__} on {device_name}, reference dtype {args.dtype}, tol {args.tol:g}")

    results = []

    def report(name, err, extra=""):
        ok = err <= args.tol
        results.append({"quantity": name, "rel_err": err, "pass": ok})
        print(f"{'PASS' if ok else 'FAIL'} {name:<36} rel err {err:.3e}{extra}")

    with torch.no_grad():
        lp, ent = logps_and_entropy(hidden0, proj0, targets, temp, args.chunk_rows)
    report("logp", rel_err(load(args.dump, m, "logp"), lp.cpu().numpy()))
    report("entropy", rel_err(load(args.dump, m, "entropy"), ent.cpu().numpy()))
    x = ref - lp
    kl = torch.exp(x) - x - 1
    # The Go KL sum over active tokens (stats) against the torch one.
    kl_sum_ref = float((kl * mask).sum())

    for case in m["cases"]:
        hidden = hidden0.clone().requires_grad_(True)
        proj = proj0.clone().requires_grad_(bool(case.get("grad_proj_file")))
        lp, ent = logps_and_entropy(hidden, proj, targets, temp, args.chunk_rows)
        loss, per_token_kl, scale = grpo_loss(case, lp, mask, adv, old if case["clip"] else None, ref)
        obj = loss
        if case["entropy_coef"]:
            obj = obj - case["entropy_coef"] * (ent * mask).sum() / mask.sum().clamp(min=1.0)
        obj.backward()
        name = case["name"]
        loss_err = abs(case["loss"] - float(loss)) / max(float(scale), 1e-30)
        report(f"{name}/loss", loss_err, f"  (go {case['loss']:.9g}, torch {float(loss):.9g}, "
               f"plain rel {abs(case['loss'] - float(loss)) / max(abs(float(loss)), 1e-30):.2e})")
        if case["beta"] != 0.0:
            report(f"{name}/kl_sum", abs(case["stats"]["kl_sum"] - kl_sum_ref) / max(abs(kl_sum_ref), 1e-30))
        tokens = float(mask.sum())
        if case["stats"]["tokens"] != tokens:
            report(f"{name}/tokens", float("inf"), f"  (go {case['stats']['tokens']}, torch {tokens})")
        g = load(args.dump, m, case["grad_hidden"])
        report(f"{name}/grad_hidden", rel_err(g, hidden.grad.cpu().numpy()))
        if case.get("grad_proj_file"):
            gp = load(args.dump, m, case["grad_proj_file"])
            report(f"{name}/grad_proj", rel_err(gp, proj.grad.cpu().numpy()))
        if case["clip"]:
            with torch.no_grad():
                coef_1 = torch.exp(lp - old)
                a = adv.unsqueeze(1)
                eh = case["epsilon_high"] or case["epsilon"]
                low = float((((coef_1 < 1 - case["epsilon"]) & (a < 0)).to(dt) * mask).sum())
                high = float((((coef_1 > 1 + eh) & (a > 0)).to(dt) * mask).sum())
            # Tokens at the clip boundary may flip between float32 and float64: allow 0.1%.
            flips = abs(case["stats"]["clip_low"] - low) + abs(case["stats"]["clip_high"] - high)
            ok = flips <= max(1.0, 1e-3 * tokens)
            results.append({"quantity": f"{name}/clip_counts", "flips": flips, "pass": ok})
            print(f"{'PASS' if ok else 'FAIL'} {name + '/clip_counts':<36} go low/high {case['stats']['clip_low']:.0f}/"
                  f"{case['stats']['clip_high']:.0f}, torch {low:.0f}/{high:.0f}")

    worst = max((r.get("rel_err", 0.0) for r in results), default=0.0)
    failed = [r for r in results if not r["pass"]]
    verdict = "PASS" if not failed else "FAIL"
    print(f"{verdict} grpo parity: {len(results)} checks, {len(failed)} failed, max rel err {worst:.3e} "
          f"(tol {args.tol:g}) on {device_name}")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "grpo_parity.json"), "w") as f:
            json.dump({"verdict": verdict, "device": device_name, "torch": torch.__version__,
                       "reference_dtype": args.dtype, "tol": args.tol, "go_backend": m["backend"],
                       "sizes": {k: m[k] for k in ("batch", "seq", "vocab", "dim")},
                       "go_seconds": {c["name"]: c["seconds"] for c in m["cases"]},
                       "max_rel_err": worst, "results": results}, f, indent=2)
    sys.exit(0 if not failed else 1)


if __name__ == "__main__":
    main()
