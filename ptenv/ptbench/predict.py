"""``ptenv ptbench predict``: an agent's answers to PTBench records, as ``generation.jsonl``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ptenv.core.records import PTBenchRecord
from ptenv.envs.ptbench_env import PTBenchEnv


def predict(records: list[PTBenchRecord], agent: Any, out: str | Path, seed: int = 0, slots: int | None = None) -> int:
    """Run an agent on the records in ``ptenv/PTBench-v0`` and write generation.jsonl, one line
    per record of the data file (``slots`` of them, refused records included: their line stays
    empty, so every other line pairs with its record). It overwrites: a rerun never appends to an
    old file (PTBench's runner did, and misaligned reruns)."""
    env = PTBenchEnv(records=records)
    by_slot = {rec.index: (i, rec) for i, rec in enumerate(records)}
    lines = []
    for slot in range(max(slots or 0, max(by_slot, default=-1) + 1)):
        if slot not in by_slot:
            lines.append(json.dumps({"query": None, "label": None, "predict": None}))
            continue
        i, rec = by_slot[slot]
        obs, _ = env.reset(seed=seed + slot, options={"task_index": i})
        agent.reset(seed=seed + slot)
        answer = agent.act(obs)
        env.step(answer)
        lines.append(
            json.dumps({"query": rec.query, "label": json.dumps(rec.answer, ensure_ascii=False), "predict": answer}, ensure_ascii=False)
        )
    tmp = Path(out).with_suffix(".tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    tmp.replace(out)
    return len(lines)
