"""``ptenv ptbench predict``: an agent's answers to PTBench records, as ``generation.jsonl``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ptenv.core.records import PTBenchRecord
from ptenv.envs.ptbench_env import PTBenchEnv


def predict(records: list[PTBenchRecord], agent: Any, out: str | Path, seed: int = 0) -> int:
    """Run an agent on the records in ``ptenv/PTBench-v0`` and write generation.jsonl. It
    overwrites: a rerun never appends to an old file (PTBench's runner did, and misaligned reruns)."""
    env = PTBenchEnv(records=records)
    lines = []
    for i, rec in enumerate(records):
        obs, _ = env.reset(seed=seed + i, options={"task_index": i})
        agent.reset(seed=seed + i)
        answer = agent.act(obs)
        env.step(answer)
        lines.append(
            json.dumps({"query": rec.query, "label": json.dumps(rec.answer, ensure_ascii=False), "predict": answer}, ensure_ascii=False)
        )
    tmp = Path(out).with_suffix(".tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    tmp.replace(out)
    return len(lines)
