"""The default dataset: size, splits, determinism, gold validity and the built-in validity checks."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest

from ptenv.scenarios import DATASETS, PREFERENCE_KINDS, TASK_KINDS, Dataset, generate, load_dataset
from ptenv.tools_registry import Registry

#: sha256 of ``load_dataset("ptenv-v1").jsonl_bytes()``. A change here is a new benchmark:
#: bump the dataset version instead of editing this line.
PTENV_V1_SHA256 = "2279b882c5fb901b29e639b5971f57ff637725fa36f92f1724bd9f694206f14e"

REG = Registry.default()


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset("ptenv-v1")


def test_scale_and_splits(ds: Dataset) -> None:
    assert len(ds.users) >= 100 and len(ds.tasks) >= 10_000
    sizes = {s: len(ds.split(s)) for s in ("train", "test_trained", "test_untrained")}
    assert sum(sizes.values()) == len(ds.tasks)
    assert 0.85 <= sizes["train"] / len(ds.tasks) <= 0.89  # PTBench: about 87%
    test = sizes["test_trained"] + sizes["test_untrained"]
    assert 0.42 <= sizes["test_trained"] / test <= 0.46  # PTBench: 474 / 1083 = 43.8%
    train_users = set(ds.split_users("train"))
    assert set(ds.split_users("test_trained")) <= train_users
    assert not set(ds.split_users("test_untrained")) & train_users
    assert len(set(t.id for t in ds.tasks)) == len(ds.tasks)


def test_every_kind_is_covered_in_every_scenario(ds: Dataset) -> None:
    seen = Counter((t.scenario, t.kind) for t in ds.tasks)
    for sc in REG.scenarios:
        for kind in (k for k in TASK_KINDS if k != "refusal"):  # declining is ptenv-v2's
            assert seen[(sc, kind)] >= 100, (sc, kind)
    assert not any(t.gold.decline or t.notices for t in ds.tasks)
    assert all(len(t.gold.calls) == 2 for t in ds.tasks if t.kind == "multi_call")
    assert any(a.source == "previous_result" for t in ds.tasks for c in t.gold.calls for a in c.args.values())
    assert any(a.source == "context" for t in ds.tasks for c in t.gold.calls for a in c.args.values())


def test_same_seed_same_bytes_and_pinned_checksum(ds: Dataset) -> None:
    again = generate(DATASETS["ptenv-v1"])
    assert again.jsonl_bytes() == ds.jsonl_bytes()
    assert ds.checksum() == PTENV_V1_SHA256, "the benchmark changed: bump the dataset version"


def test_another_seed_gives_another_dataset() -> None:
    from dataclasses import replace

    a = generate(DATASETS["ptenv-v1-mini"])
    b = generate(replace(DATASETS["ptenv-v1-mini"], seed=8))
    assert a.checksum() != b.checksum()


def test_every_gold_call_validates_and_executes(ds: Dataset) -> None:
    invalid, failed = ds.gold_problems()
    assert invalid == [] and failed == []


def test_gold_platform_near_uniform_per_scenario(ds: Dataset) -> None:
    by_sc: dict[str, Counter[str]] = defaultdict(Counter)
    for t in ds.tasks:
        if t.kind in PREFERENCE_KINDS:
            by_sc[t.scenario][t.gold.platform] += 1
    for sc, counts in by_sc.items():
        total = sum(counts.values())
        assert len(counts) == 3
        for p, n in counts.items():
            assert abs(n / total - 1 / 3) < 0.04, (sc, p, n / total)


def test_gold_follows_each_users_preferences(ds: Dataset) -> None:
    for t in ds.tasks:
        user = ds.users[t.user_id]
        preferred = user.preferred_platform(REG.scenarios[t.scenario], t.context)
        if t.kind in PREFERENCE_KINDS:
            assert t.gold.platform == preferred, t.id
        elif t.kind == "explicit_platform":  # the named platform overrides the preference
            assert t.gold.platform != preferred and REG.scenarios[t.scenario].platform(t.gold.platform).name in t.query


def test_history_is_consistent_with_preferences(ds: Dataset) -> None:
    for user in ds.users.values():
        for e in user.history:
            assert e.platform == user.preferred_platform(REG.scenarios[e.scenario], e.context)


def test_context_changes_the_choice_in_a_measurable_share(ds: Dataset) -> None:
    pref = [t for t in ds.tasks if t.kind in PREFERENCE_KINDS]
    changed = sum(t.gold.platform != ds.users[t.user_id].preferred_platform(REG.scenarios[t.scenario], None) for t in pref)
    share = changed / len(pref)
    assert 0.15 <= share <= 0.35, share


def test_profile_blind_policy_cannot_beat_chance(ds: Dataset) -> None:
    """The best policy that sees everything but the user (scenario, situation, API, wording
    template) fitted on train, scored on test: within a few points of chance (1/3)."""

    def features(t):  # type: ignore[no-untyped-def]
        # the canonical API key, not the platform's own function name (that would name the platform)
        return (t.scenario, t.context, REG.tools[t.gold.calls[0].tool].api_key, len(t.query.split()) // 5)

    fit: dict[tuple, Counter[str]] = defaultdict(Counter)  # type: ignore[type-arg]
    for t in ds.split("train"):
        if t.kind in PREFERENCE_KINDS:
            # platforms are named differently, so the blind policy predicts a platform *position*
            fit[features(t)][_position(t)] += 1
    test = [t for t in ds.split("test") if t.kind in PREFERENCE_KINDS]
    right = sum(fit[features(t)].most_common(1)[0][0] == _position(t) if fit[features(t)] else False for t in test)
    assert right / len(test) < 1 / 3 + 0.06, right / len(test)


def _position(t) -> int:  # type: ignore[no-untyped-def]
    return [p.id for p in REG.scenarios[t.scenario].platforms].index(t.gold.platform)


def test_queries_vary_and_never_leak_the_preferred_platform(ds: Dataset) -> None:
    pref = [t for t in ds.tasks if t.kind in PREFERENCE_KINDS]
    assert len({t.query for t in pref}) / len(pref) > 0.5
    names = {p.name for sc in REG.scenarios.values() for p in sc.platforms}
    assert not any(n in t.query for t in pref for n in names)


def test_profile_arguments_come_from_the_profile(ds: Dataset) -> None:
    n = 0
    for t in ds.tasks:
        facts = ds.users[t.user_id].facts
        for c in t.gold.calls:
            for a in c.args.values():
                if a.source == "profile":
                    assert a.profile_field is not None and a.accepted == (facts[a.profile_field],)
                    n += 1
    assert n > 3000


def test_exports(ds: Dataset, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "d.jsonl"
    ds.write_jsonl(path)
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["type"] == "dataset"
    kinds = Counter(json.loads(line)["type"] for line in lines)
    assert kinds == {"dataset": 1, "user": len(ds.users), "task": len(ds.tasks)}
    records = ds.to_ptbench("test_untrained")
    assert len(records) == len(ds.split("test_untrained"))
    r = records[0]
    assert set(r) >= {"user_profile", "platforms", "tools", "query", "answer", "query_params", "profile_params"}
    platform, calls = r["answer"]
    assert platform in r["platforms"] and isinstance(calls, list)
    for call in calls:
        ((func, params),) = call.items()
        assert all(isinstance(v, list) and v for v in params.values())
    assert isinstance(json.loads(r["tools"]), list)


def test_no_gold_call_breaks_a_differs_from_rule(ds: Dataset) -> None:
    """A trip's destination is never its origin (the rule is data: ParamSpec.differs_from)."""
    checked = 0
    for t in ds.tasks:
        for c in t.gold.calls:
            tool = REG.tools[c.tool]
            names = dict(tool.arg_pairs())
            for p in tool.params:
                if p.differs_from and names[p.key] in c.args and names[p.differs_from] in c.args:
                    checked += 1
                    assert c.args[names[p.key]].accepted[0] != c.args[names[p.differs_from]].accepted[0], t.id
    assert checked > 100
