#!/usr/bin/python3
"""Fault fixture for plugins/proc tests: a Python reward obeying sentinel completions."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "..", "sdk", "python"))
import grpo_plugin  # noqa: E402


def reward(batch):
    out = []
    for it in batch["items"]:
        c = it["completion"]
        if c == "CRASH":
            grpo_plugin.log.error("crashy: exiting on purpose", extra={"code": 5})
            os._exit(5)
        if c == "RAISE":
            raise ValueError("crashy cannot grade this")
        if c == "NAN":
            out.append(float("nan"))
            continue
        if c == "HANG":
            time.sleep(3600)
        if c.startswith("LOG:"):
            grpo_plugin.log.warning(c[4:], extra={"answer": 42})
        out.append(len(c))
    return out


grpo_plugin.serve_reward(reward, name="crashy")
