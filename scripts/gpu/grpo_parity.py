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

The reference runs in float64, so the numbers measure the error of the Go float32 computation;
each line also shows the "f32 floor", the error of the same torch code run in float32 on the same
inputs (what any float32 implementation can be expected to reach). Relative error of a tensor is max|go - ref| /
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


def reference(m, tensors, dt, chunk_rows):
    """Every compared quantity, computed with torch in dtype dt from the dumped inputs."""
    hidden0, proj0 = tensors["hidden"].to(dt), tensors["proj"].to(dt)
    targets = tensors["targets"]
    mask, adv = tensors["mask"].to(dt), tensors["advantages"].to(dt)
    old, ref = tensors["old_logp"].to(dt), tensors["ref_logp"].to(dt)
    temp = m["temperature"]
    out = {}
    with torch.no_grad():
        lp, ent = logps_and_entropy(hidden0, proj0, targets, temp, chunk_rows)
        x = ref - lp
        kl = torch.exp(x) - x - 1
    out["logp"], out["entropy"] = lp, ent
    out["kl_sum"] = float((kl * mask).sum())
    out["tokens"] = float(mask.sum())
    for case in m["cases"]:
        name = case["name"]
        hidden = hidden0.clone().requires_grad_(True)
        proj = proj0.clone().requires_grad_(bool(case.get("grad_proj_file")))
        lp, ent = logps_and_entropy(hidden, proj, targets, temp, chunk_rows)
        loss, _, scale = grpo_loss(case, lp, mask, adv, old if case["clip"] else None, ref)
        obj = loss
        if case["entropy_coef"]:
            obj = obj - case["entropy_coef"] * (ent * mask).sum() / mask.sum().clamp(min=1.0)
        obj.backward()
        out[name + "/loss"] = float(loss)
        out[name + "/scale"] = float(scale)
        out[name + "/grad_hidden"] = hidden.grad
        if case.get("grad_proj_file"):
            out[name + "/grad_proj"] = proj.grad
        if case["clip"]:
            with torch.no_grad():
                coef_1 = torch.exp(lp - old)
                a = adv.unsqueeze(1)
                eh = case["epsilon_high"] or case["epsilon"]
                out[name + "/clip_low"] = float((((coef_1 < 1 - case["epsilon"]) & (a < 0)).to(dt) * mask).sum())
                out[name + "/clip_high"] = float((((coef_1 > 1 + eh) & (a > 0)).to(dt) * mask).sum())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dump", help="directory written by `grpo bench grpo-parity`")
    ap.add_argument("--out", default=os.environ.get("OUT"), help="write grpo_parity.json here")
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--chunk-rows", type=int, default=2048)
    args = ap.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device(args.device)
    m = json.load(open(os.path.join(args.dump, "manifest.json")))
    tensors = {}
    for name in ("hidden", "proj", "mask", "advantages", "old_logp", "ref_logp"):
        tensors[name] = torch.from_numpy(load(args.dump, m, name).copy()).to(device=dev, dtype=torch.float64)
    tensors["targets"] = torch.from_numpy(load(args.dump, m, "targets").astype(np.int64)).to(dev)
    device_name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(f"grpo parity: B*G={m['batch']} T={m['seq']} V={m['vocab']} D={m['dim']} temperature={m['temperature']}")
    print(f"  go backend: {m['backend']}")
    print(f"  torch {torch.__version__} on {device_name}; reference float64; tol {args.tol:g}; "
          "'f32 floor' = error of the same torch code run in float32")

    ref64 = reference(m, tensors, torch.float64, args.chunk_rows)
    ref32 = reference(m, tensors, torch.float32, args.chunk_rows)

    def np64(x):
        return x.detach().double().cpu().numpy() if torch.is_tensor(x) else x

    results = []

    def report(name, err, floor, extra=""):
        ok = err <= args.tol
        results.append({"quantity": name, "rel_err": err, "f32_floor": floor, "pass": ok})
        print(f"{'PASS' if ok else 'FAIL'} {name:<32} rel err {err:.3e}  (f32 floor {floor:.1e}){extra}")

    def tensor_check(name, go):
        r64, r32 = np64(ref64[name]), np64(ref32[name])
        report(name, rel_err(go, r64), rel_err(r32, r64))

    tensor_check("logp", load(args.dump, m, "logp"))
    tensor_check("entropy", load(args.dump, m, "entropy"))
    for case in m["cases"]:
        name = case["name"]
        loss64, scale = ref64[name + "/loss"], max(ref64[name + "/scale"], 1e-30)
        report(f"{name}/loss", abs(case["loss"] - loss64) / scale, abs(ref32[name + "/loss"] - loss64) / scale,
               f"  go {case['loss']:.9g} torch {loss64:.9g}")
        if case["beta"] != 0.0:
            kl64 = ref64["kl_sum"]
            report(f"{name}/kl_sum", abs(case["stats"]["kl_sum"] - kl64) / max(abs(kl64), 1e-30),
                   abs(ref32["kl_sum"] - kl64) / max(abs(kl64), 1e-30))
        if case["stats"]["tokens"] != ref64["tokens"]:
            report(f"{name}/tokens", float("inf"), 0.0, f"  go {case['stats']['tokens']} torch {ref64['tokens']}")
        tensor_check(f"{name}/grad_hidden", load(args.dump, m, case["grad_hidden"]))
        if case.get("grad_proj_file"):
            tensor_check(f"{name}/grad_proj", load(args.dump, m, case["grad_proj_file"]))
        if case["clip"]:
            low, high = ref64[name + "/clip_low"], ref64[name + "/clip_high"]
            # Tokens exactly at a clip boundary may flip between precisions: allow 0.1%.
            flips = abs(case["stats"]["clip_low"] - low) + abs(case["stats"]["clip_high"] - high)
            ok = flips <= max(1.0, 1e-3 * ref64["tokens"])
            results.append({"quantity": f"{name}/clip_counts", "flips": flips, "pass": ok})
            print(f"{'PASS' if ok else 'FAIL'} {name + '/clip_counts':<32} go low/high {case['stats']['clip_low']:.0f}/"
                  f"{case['stats']['clip_high']:.0f}, torch {low:.0f}/{high:.0f}")

    worst = max((r.get("rel_err", 0.0) for r in results), default=0.0)
    failed = [r for r in results if not r["pass"]]
    verdict = "PASS" if not failed else "FAIL"
    print(f"{verdict} grpo parity: {len(results)} checks, {len(failed)} failed, max rel err {worst:.3e} "
          f"(tol {args.tol:g}) on {device_name}")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "grpo_parity.json"), "w") as f:
            json.dump({"verdict": verdict, "device": device_name, "torch": torch.__version__, "tol": args.tol,
                       "go_backend": m["backend"], "sizes": {k: m[k] for k in ("batch", "seq", "vocab", "dim")},
                       "go_seconds": {c["name"]: c["seconds"] for c in m["cases"]},
                       "max_rel_err": worst, "results": results}, f, indent=2)
    sys.exit(0 if not failed else 1)


if __name__ == "__main__":
    main()
