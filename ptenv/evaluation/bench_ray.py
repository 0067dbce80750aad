"""``ptenv bench --only ray``: what ``--backend ray`` costs and how it scales (the ``ray`` extra).

One local Ray (2 CPUs) serves the whole section; starting it is timed on its own. Scaling: the
ptbench-text agent against the loopback server answering in 50 ms (one request per episode, so
an actor is bound by the server's latency, as with a real model), 320 episodes with 1 and then
2 actors (each run starts its actors: that cost is in the figures): 2 actors should run near 2x
the episodes per second. Overhead: the heuristic agent on the full test split (1,440 episodes,
~1 ms each) in this process against one Ray actor, Ray already up.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from typing import Any

from ptenv.evaluation.bench_rows import SERVER, Row


def ray_rows(episodes: int = 160) -> list[Row]:
    try:
        import ray
    except ImportError:
        raise ValueError("the ray section needs Ray: pip install 'ptenv[ray]'") from None
    from ptenv.evaluation.runner import evaluate

    s = "ray"
    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR, object_store_memory=128 * 1024**2)
    started = time.perf_counter() - t
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        kw: dict[str, Any] = {"base_url": proc.stdout.readline().strip(), "model": "loopback", "cache_dir": None}
        llm: dict[str, Any] = {"agent_kwargs": kw, "progress": False, "backend": "ray"}
        evaluate("ptenv/PTBench-v0", "ptbench-text", "test_untrained", None, episodes=8, workers=2, **llm)  # warm
        rates = {}
        for n in (1, 2):
            t = time.perf_counter()
            out = evaluate("ptenv/PTBench-v0", "ptbench-text", "test", None, episodes=episodes, workers=n, **llm)
            rates[n] = out["episodes"] / (time.perf_counter() - t)
        t = time.perf_counter()
        evaluate("ptenv/PersonalTool-v0", "heuristic", "test", None, progress=False)
        local = time.perf_counter() - t
        t = time.perf_counter()
        evaluate("ptenv/PersonalTool-v0", "heuristic", "test", None, progress=False, backend="ray", workers=1)
        on_ray = time.perf_counter() - t
    finally:
        proc.kill()
        proc.wait()
        ray.shutdown()
    return [
        Row(s, "starting a local Ray (2 CPUs)", started, "s"),
        Row(s, "ptbench-text, 50 ms server: 1 Ray actor", rates[1], "ep/s", rates[1] * 0.05, "one at a time"),
        Row(s, "  2 Ray actors", rates[2], "ep/s", rates[2] / rates[1], "1 actor", (1.8, False, True)),
        Row(s, "bare: heuristic, full test split, in this process", local, "s"),
        Row(s, "  the same on 1 Ray actor (Ray up)", on_ray, "s", on_ray / local, "in process"),
    ]
