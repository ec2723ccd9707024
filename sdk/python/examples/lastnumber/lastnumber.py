#!/usr/bin/python3
"""Example grpo reward as a Python process plugin: 1 when the completion's last number equals the
row's answer, else 0; None (no score) when the row has no usable answer. The same rule as the Go
example (sdk/go/examples/lastnumber/grade), so both score a dataset identically:

  - a number is -?[0-9]+(\\.[0-9]+)? (ASCII digits; no thousands separators or exponents);
  - the reference is metadata[answer_column]: a JSON number as is, or a string's last number.
"""
import os
import re
import sys

# grpo_plugin.py lives two directories up (sdk/python); copy it beside your plugin instead.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", ".."))
import grpo_plugin  # noqa: E402

NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
column = "answer"


def last_number(s):
    found = [m.group(0) for m in NUMBER.finditer(s)]
    return float(found[-1]) if found else None


def reference(meta):
    v = (meta or {}).get(column)
    if isinstance(v, bool):  # JSON true/false is not an answer (Go sees a bool, not a number)
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        return last_number(v)
    return None


def reward(batch):
    out = []
    for item in batch["items"]:
        want = reference(item.get("metadata"))
        if want is None:
            out.append(None)
            continue
        got = last_number(item["completion"])
        out.append(1.0 if got is not None and got == want else 0.0)
    return out


def configure(settings):
    global column
    v = settings.get("answer_column", "answer")
    if not isinstance(v, str) or not v:
        raise ValueError("setting answer_column must be a non-empty string, got %r" % (v,))
    column = v


grpo_plugin.serve_reward(reward, name="lastnumber", version="1.0.0",
                         description="1 if the completion's last number equals the row's answer column, else 0",
                         configure=configure)
