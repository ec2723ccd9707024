#!/usr/bin/env python3
"""Times HF tokenizers on the documents grpo's BenchmarkEncode wrote, checks it gives the same ids.

    python3 scripts/gpu/tokenizer_bench.py TOKENIZER_JSON CORPUS_JSONL GO_BENCH_TXT NAME
CORPUS_JSONL has {"text", "ids"} per document (ids from grpo); GO_BENCH_TXT is the output of
`tokenizer.test -test.bench BenchmarkEncode/NAME`, whose MB/s is compared.
"""
import json
import os
import re
import sys
import time

import tokenizers


def main(tok_path, corpus_path, go_bench, name):
    tok = tokenizers.Tokenizer.from_file(tok_path)
    rows = [json.loads(line) for line in open(corpus_path, encoding="utf-8")]
    docs = [r["text"] for r in rows]
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    bad = sum(tok.encode(d, add_special_tokens=False).ids != r["ids"] for d, r in zip(docs, rows))

    def best(fn, reps=5):
        t = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
        return min(t)

    single = best(lambda: [tok.encode(d, add_special_tokens=False) for d in docs])
    batch = best(lambda: tok.encode_batch(docs, add_special_tokens=False))
    m = re.search(r"([0-9.]+) MB/s", open(go_bench).read())
    go_mbs = float(m.group(1)) if m else float("nan")
    hf_mbs = nbytes / single / 1e6
    print(f"{name}: {len(docs)} docs, {nbytes/1e6:.2f} MB, tokenizers {tokenizers.__version__}, "
          f"{os.cpu_count()} CPUs")
    print(f"{name}: grpo {go_mbs:.1f} MB/s (1 thread), HF tokenizers {hf_mbs:.1f} MB/s (1 thread), "
          f"ratio grpo/HF {go_mbs/hf_mbs:.2f}; HF encode_batch {nbytes/batch/1e6:.1f} MB/s (all CPUs)")
    if bad:
        print(f"FAIL tokenizer bench {name}: {bad} of {len(docs)} documents differ from HF ids")
        return 1
    print(f"PASS tokenizer bench {name}: all {len(docs)} documents give HF's ids")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
