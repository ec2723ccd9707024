"""Where a decode step's time goes, from a kernel trace (scripts/gpu/kerneltrace, CUPTI).

Input: TSV lines "start_ns end_ns name", one per kernel (or copy) the process ran (.gz too). The
decode While loop repeats one kernel sequence per step, ending with the output projection over
the vocabulary; this finds the steps in the trace's second half by that kernel and reports, per
step: the median wall time from one step's first kernel to the next one's, the mean kernel
durations and their sum (with programmatic dependent launch, kernels overlap a little, so the
sum can exceed the wall time), the kernels grouped by kind and by name, and one step in order.
    python3 scripts/gpu/sampler_trace.py trace.tsv.gz [label]
"""
import gzip
import re
import sys
from collections import Counter, defaultdict


def load(path):
    ks = []
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t", 2)
            if len(parts) == 3 and parts[0].isdigit() and int(parts[0]) > 0:
                ks.append((int(parts[0]), int(parts[1]), parts[2]))
    ks.sort()
    return ks


def kind(name):
    l = name.lower()
    if "memcpy" in l:
        return "copy"
    if "gemm" in l or "xmma" in l or "nvjet" in l or "cutlass" in l or "cublas" in l:
        return "matmul"
    if "dynamic_update_slice" in l:
        return "cache write (dynamic-update-slice)"
    if "reduce" in l:
        return "reduction"
    if "concatenate" in l:
        return "concatenate (rope)"
    if l.startswith("fusion"):
        return "triton fusion (norm/softmax)"
    return "elementwise"


def short(name):
    return re.sub(r"(_\d+)+$", "", name)[:60]


def main(path, label=""):
    ks = load(path)
    names = [k[2] for k in ks]
    n = len(ks)
    print(f"{label}{n} kernels traced")
    # A step ends with the output projection over the vocabulary, the longest kernel that runs
    # once a step (≥ 100 times): its occurrences in the trace's second half mark the steps. p is
    # the usual distance between two of them; a step is kept when its kernel names equal the
    # reference step's.
    tot, cnt = Counter(), Counter()
    for k in ks[n // 2:]:
        if not k[2].startswith("memcpy"):
            tot[k[2]] += k[1] - k[0]
            cnt[k[2]] += 1
    head = max((nm for nm in cnt if cnt[nm] >= 100), key=lambda nm: tot[nm] / cnt[nm])
    at = [i for i in range(n // 2, n) if names[i] == head]
    gaps = Counter(b - a for a, b in zip(at, at[1:]))
    if not gaps:
        print("FAIL: no repeated decode step in the trace's second half")
        return 1
    p = gaps.most_common(1)[0][0]
    starts = [a + 1 for a, b in zip(at, at[1:]) if b - a == p]
    ref = names[starts[0]:starts[0] + p]
    starts = [s0 for s0 in starts if names[s0:s0 + p] == ref and s0 + p < n]
    start, steps = starts[0], len(starts)
    walls = [ks[s0 + p][0] - ks[s0][0] for s0 in starts]
    wall = sorted(walls)[len(walls) // 2]
    busy = [0.0] * p
    for s0 in starts:
        for j in range(p):
            k = ks[s0 + j]
            busy[j] += (k[1] - k[0]) / steps
    total = sum(busy)
    print(f"{label}decode step: {p} kernels; wall {wall / 1e3:.1f} µs, kernel time {total / 1e3:.1f} µs "
          f"({100 * total / wall:.0f}%), gaps {(wall - total) / 1e3:.1f} µs; median wall and mean kernel times over {steps} steps")
    by_kind, by_name, cnt = defaultdict(float), defaultdict(float), defaultdict(int)
    for j in range(p):
        nm = names[start + j]
        by_kind[kind(nm)] += busy[j]
        by_name[short(nm)] += busy[j]
        cnt[short(nm)] += 1
    print(f"{label}by kind (µs per step, share of kernel time):")
    for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"{label}  {k:36s} {v / 1e3:8.1f}  {100 * v / total:5.1f}%")
    print(f"{label}by name (fusion numbers removed):")
    for k, v in sorted(by_name.items(), key=lambda kv: -kv[1])[:25]:
        print(f"{label}  {k:60s} x{cnt[k]:4d} {v / 1e3:8.1f} µs  mean {v / cnt[k] / 1e3:6.2f}")
    print(f"{label}one step in order (µs busy, µs gap before):")
    for j in range(p):
        k = ks[start + j]
        gap = (k[0] - ks[start + j - 1][1]) / 1e3
        if j < 36 or j >= p - 24:
            print(f"{label}  {j:4d} {busy[j] / 1e3:7.2f} {gap:6.2f}  {names[start + j][:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""))
