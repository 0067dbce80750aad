"""``ptenv eval --backend ray``: the same results as the local backend, and nothing lost or counted
twice when a node dies mid-run.

One small Ray cluster is shared by these tests (starting Ray costs seconds): a head and one more
node on this machine (``ray.cluster_utils.Cluster``), each with few CPUs and a small object
store. They run in one pytest worker (``xdist_group``); the cluster is shut down at the end.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import need_extra

from ptenv.evaluation import evaluate
from ptenv.testing.loopback import LoopbackLLM, Text

pytestmark = pytest.mark.xdist_group("ray")

#: Node deaths noticed in ~2.5 s (Ray's default is tens of seconds), not so fast that a busy machine looks dead.
FAST_HEALTH = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 500, "health_check_failure_threshold": 5}
MB = 1024**2


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    ray = need_extra("ray", "ray")
    from ray.cluster_utils import Cluster

    c = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "object_store_memory": 80 * MB, "_system_config": FAST_HEALTH},
    )
    c.add_node(num_cpus=1, object_store_memory=80 * MB)
    ray.init(address=c.address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        yield c
    finally:
        ray.shutdown()
        c.shutdown()


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_a_deterministic_agent_scores_the_same_on_ray(cluster: Any, tmp_path: Path) -> None:
    kw: dict[str, Any] = {"episodes": 25, "seed": 3, "progress": False}
    local = evaluate("ptenv/PersonalTool-v0", "profile-blind", "test", None, **kw)
    on_ray = evaluate("ptenv/PersonalTool-v0", "profile-blind", "test", tmp_path / "run", backend="ray", workers=2, **kw)
    _same(local, on_ray)
    lines = (tmp_path / "run" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 50 and len({(r["split"], r["key"], r["trial"]) for r in map(json.loads, lines)}) == 50
    # resumed on Ray after losing some lines: the same summary, every episode once
    (tmp_path / "run" / "results.jsonl").write_text("\n".join(lines[:20]) + "\n")
    again = evaluate("ptenv/PersonalTool-v0", "profile-blind", "test", tmp_path / "run", backend="ray", workers=2, **kw)
    _same(local, again)
    assert len((tmp_path / "run" / "results.jsonl").read_text().splitlines()) == 50


def test_an_actor_that_cannot_start_stops_the_run_at_once_with_its_error(cluster: Any) -> None:
    # no preflight, so the driver does not load the agent first: the actors meet the bad setting
    with pytest.raises(ValueError, match="could not start its envs and agent: TypeError: .*'bogus'"):
        evaluate(
            "ptenv/PersonalTool-v0", "heuristic", "test", None, episodes=2, progress=False,
            backend="ray", workers=1, agent_kwargs={"bogus": 1}, preflight=False,
        )  # fmt: skip


def test_a_node_lost_mid_run_loses_no_episode_and_counts_none_twice(
    cluster: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    srv = LoopbackLLM(latency=0.15).start()
    srv.handler = lambda provider, body: Text("X:[f(a=1)]")  # every episode: one request, then the end
    doomed = cluster.add_node(num_cpus=2, object_store_memory=80 * MB)
    cluster.wait_for_nodes()
    agent_kwargs = {"base_url": srv.openai_base_url, "model": "loopback", "cache_dir": None}
    kw: dict[str, Any] = {"episodes": 16, "seed": 1, "progress": False, "agent_kwargs": agent_kwargs}
    out = tmp_path / "run"
    results = out / "results.jsonl"

    def kill_when_started() -> None:  # once a few episodes are in, the node goes
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if results.exists() and len(results.read_text().splitlines()) >= 4:
                break
            time.sleep(0.02)
        cluster.remove_node(doomed, allow_graceful=False)

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    try:
        # 4 actors on 4 CPUs: two of them are on the node that dies
        summary = evaluate("ptenv/PTBench-v0", "ptbench-text", "test", out, backend="ray", workers=4, **kw)
        killer.join()
        local = evaluate("ptenv/PTBench-v0", "ptbench-text", "test", None, **kw)
    finally:
        killer.join()
        srv.close()
    assert "a Ray actor was lost" in capsys.readouterr().err
    recs = [json.loads(line) for line in results.read_text().splitlines()]
    keys = [(r["split"], r["key"], r["trial"]) for r in recs]
    assert len(keys) == 32 and len(set(keys)) == 32  # every episode, once
    assert summary["episodes"] == 32 and summary["errored"] == 0
    for k in ("episodes", "tasks", "metrics", "errored"):
        assert json.dumps(summary.get(k), sort_keys=True) == json.dumps(local.get(k), sort_keys=True)


def test_rllib_ppo_with_an_action_mask_beats_profile_blind_on_held_out_users(cluster: Any, tmp_path: Path) -> None:
    """RLlib's PPO (new API stack, 2 env runners on the cluster), a short seeded run; its
    pickle-free checkpoint evaluated by ``ptenv eval`` on users it never saw."""
    need_extra("ray.rllib", "rllib")
    from ptenv.rl.rllib import train_rllib_ppo

    rows = train_rllib_ppo("ptenv/PersonalTool-Numeric-v0", 4000, tmp_path, seed=0, env_runners=2, progress=False)
    assert rows[-1]["steps"] >= 4000 and (tmp_path / "rllib").is_dir() and (tmp_path / "curve.csv").exists()
    kw: dict[str, Any] = {"episodes": 200, "env_kwargs": {"visibility": "history"}, "progress": False}
    ppo = evaluate("ptenv/PersonalTool-v0", str(tmp_path / "checkpoint.npz"), "test_untrained", None, **kw)
    blind = evaluate("ptenv/PersonalTool-v0", "profile-blind", "test_untrained", None, **kw)
    assert ppo["errored"] == 0
    assert ppo["metrics"]["platforms"] > blind["metrics"]["platforms"] + 0.2, (ppo["metrics"], blind["metrics"])
    assert ppo["metrics"]["overall"] > blind["metrics"]["overall"] + 0.3
