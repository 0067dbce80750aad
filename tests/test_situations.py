"""ptenv-v2's notices: a platform that cannot be used, the fallback rule, and no prior to exploit."""

from __future__ import annotations

import json
from collections import Counter
from fractions import Fraction

import gymnasium as gym

import ptenv  # noqa: F401  (registers the ids)
from ptenv.core.user_sim import PLATFORM_QUESTION, ScriptedUser, Situation, told_platform
from ptenv.scenarios import PREFERENCE_KINDS, load_dataset
from ptenv.scenarios.situations import _TARGET_WEIGHTS, _roles, fallback, unavailable_in
from ptenv.tools_registry import Registry

REG = Registry.default()


def test_every_notice_names_one_platform_never_the_named_one_and_the_gold_follows_the_rule() -> None:
    ds = load_dataset("ptenv-v2")
    noticed = [t for t in ds.tasks if t.notices]
    assert 0.3 < len(noticed) / len(ds.tasks) < 0.5
    kinds = Counter(n.kind for t in noticed for n in t.notices)
    assert set(kinds) == {"outage", "maintenance", "weather", "time_of_day", "abroad"}, kinds
    moved = 0
    for t in noticed:
        sc = REG.scenarios[t.scenario]
        (notice,) = t.notices
        assert unavailable_in(sc, [notice.text]) == {notice.platform}, notice.text  # the text names it, and only it
        assert t.gold.platform != notice.platform
        if t.kind in PREFERENCE_KINDS:
            wanted = ds.users[t.user_id].preferred_platform(sc, t.context)
            assert t.gold.platform == fallback(sc, wanted, {notice.platform})
            moved += wanted == notice.platform
    assert moved > 200


def test_a_notice_says_nothing_of_the_answer_to_whom_does_not_know_the_user() -> None:
    # exactly: with the user's choice uniform, each of the two platforms left is the answer half the time
    for sc in REG.scenarios.values():
        hub, up, low = _roles(sc)
        order = (low, hub, up)
        weights = {w: _TARGET_WEIGHTS[r] for w, r in ((low, "low"), (hub, "hub"), (up, "up"))}
        for named in order:
            gold: Counter[str] = Counter()
            for wanted in order:
                w = weights[wanted]
                gold[fallback(sc, wanted, {named})] += Fraction(w[order.index(named)], sum(w))
            left = [p for p in order if p != named]
            assert gold[left[0]] == gold[left[1]] and named not in gold, (sc.id, named, gold)
    # and in the data: given the platform named, the fallback of it is the answer about half the time
    ds = load_dataset("ptenv-v2")
    hits = [
        t.gold.platform == fallback(REG.scenarios[t.scenario], t.notices[0].platform, {t.notices[0].platform})
        for t in ds.tasks
        if t.notices and t.kind in PREFERENCE_KINDS
    ]
    assert abs(sum(hits) / len(hits) - 0.5) < 0.05


def test_the_env_shows_the_notice_and_refuses_the_platform_it_names() -> None:
    ds = load_dataset("ptenv-v2-mini")
    task = next(t for t in ds.split("test") if t.notices and t.kind in PREFERENCE_KINDS)
    env = gym.make("ptenv/PersonalTool-v0", dataset="ptenv-v2-mini", split="test", visibility="profile")
    obs, _ = env.reset(options={"task_id": task.id})
    assert json.loads(obs)["notices"] == [task.notices[0].text]
    down = task.notices[0].platform
    name = next(n for n, t in REG.tools.items() if t.platform == down and t.api_key == REG.tools[task.gold.calls[0].tool].api_key)
    obs, reward, term, trunc, info = env.step(json.dumps({"name": name, "arguments": task.gold.calls[0].canonical_args()}))
    (res,) = json.loads(obs)["results"]
    assert res["ok"] is False and res["error"]["code"] == "unavailable" and not term
    assert REG.scenarios[task.scenario].platform(down).name in res["error"]["message"]
    # ptenv-v1's observations have no notices
    v1 = gym.make("ptenv/PersonalTool-v0", dataset="ptenv-v1-mini", split="test")
    assert "notices" not in json.loads(v1.reset(seed=0)[0])


def test_the_numeric_ids_offer_no_call_on_a_platform_a_notice_rules_out() -> None:
    """The candidates read the notices (public): a call the env would refuse is not offered, and
    the gold call still is whenever the facts are shown. The same request without its notice is
    offered every platform (the remembered first candidates are keyed by the notices too)."""
    ds = load_dataset("ptenv-v2-mini")
    env = gym.make("ptenv/PersonalTool-Numeric-v0", dataset="ptenv-v2-mini", split="test")
    numeric = env.unwrapped
    # (one-call tasks without a sort from the user's preferences: the candidates offer none)
    noticed = [
        t
        for t in ds.split("test")
        if t.notices and len(t.gold.calls) == 1 and all(a.source != "preference" for a in t.gold.calls[0].args.values())
    ]
    assert len(noticed) > 20
    for t in noticed:
        env.reset(options={"task_id": t.id})
        cands = numeric._cands.candidates
        platforms = {c.platform for c in cands if c.kind == "call"}
        assert t.notices[0].platform not in platforms and len(platforms) == 2, t.id
        gold = t.gold.calls[0]
        assert any(json.loads(c.action).get("arguments") == gold.canonical_args() and c.platform == t.gold.platform for c in cands), t.id
    plain = next(t for t in ds.split("test") if not t.notices)
    env.reset(options={"task_id": plain.id})
    assert len({c.platform for c in numeric._cands.candidates if c.kind == "call"}) == 3


def test_under_a_notice_the_numeric_features_point_where_the_published_rule_does() -> None:
    """A candidate's "majority" flags say which platform the user's history points to; under a
    notice ruling that platform out they flag the one the fallback rule gives (never none, never a
    platform that cannot be used), so a policy reading them learns the rule from the same features."""
    from ptenv.rl.candidates import K
    from ptenv.rl.features import CAND_FEATURES, F, G

    ds = load_dataset("ptenv-v2-mini")
    env = gym.make("ptenv/PersonalTool-Numeric-v0", dataset="ptenv-v2-mini", split="test")
    numeric = env.unwrapped
    moved = 0
    for t in ds.split("test"):
        if not t.notices:
            continue
        obs, _ = env.reset(options={"task_id": t.id})
        builder, cands = numeric._cands.builder, numeric._cands.candidates
        if len(cands) == 1:  # finish alone: a long chain, which the candidates do not offer
            continue
        sc, down = REG.scenarios[t.scenario], t.notices[0].platform
        rows = obs[G:].reshape(K, F)
        for flag, raw in zip(("same_majority", "default_majority"), builder.request_majorities(), strict=True):
            flagged = {cands[i].platform for i in range(len(cands)) if rows[i, CAND_FEATURES.index(flag)] == 1.0}
            assert flagged == ({fallback(sc, raw, {down})} if raw else set()), (t.id, flag)
            moved += raw == down
    assert moved > 5


def test_an_employers_rule_that_covers_a_request_is_what_the_numeric_features_flag() -> None:
    from ptenv.rl.candidates import K
    from ptenv.rl.features import CAND_FEATURES, F, G

    ds = load_dataset("ptenv-v2-mini")
    env = gym.make("ptenv/PersonalTool-Numeric-v0", dataset="ptenv-v2-mini", split="test")
    numeric = env.unwrapped
    covered = 0
    for t in ds.split("test"):
        obs, _ = env.reset(options={"task_id": t.id})
        builder, cands = numeric._cands.builder, numeric._cands.candidates
        if builder.required is None or len(cands) == 1:
            continue
        covered += 1
        assert t.gold.platform == builder.required or t.notices, t.id  # the rule decides, bar a notice
        rows = obs[G:].reshape(K, F)
        for flag in ("same_majority", "default_majority"):
            flagged = {cands[i].platform for i in range(len(cands)) if rows[i, CAND_FEATURES.index(flag)] == 1.0}
            assert flagged == {fallback(REG.scenarios[t.scenario], builder.required, builder.unavailable)}, (t.id, flag)
    assert covered >= 3


def test_the_user_asked_which_app_answers_with_their_choice_under_the_notice() -> None:
    ds = load_dataset("ptenv-v2")
    user = ScriptedUser()
    checked = 0
    for t in ds.tasks:
        if not t.notices or t.kind not in PREFERENCE_KINDS:
            continue
        sc = REG.scenarios[t.scenario]
        answer = user.reply(PLATFORM_QUESTION, Situation(task=t, user=ds.users[t.user_id], scenario=sc))
        assert told_platform(answer, sc) == t.gold.platform
        checked += 1
    assert checked > 1000


def test_a_search_sorted_the_users_way_is_judged_in_its_own_column_only() -> None:
    """ptenv-v2: a one-call search the request does not sort has the user's sort in its gold
    (source ``preference``); sending it right, wrong or not at all changes nothing in PTBench's
    columns, only the ``prefs`` column; the PTBench export leaves it out."""
    from ptenv.scenarios.dataset import ptbench_answer

    ds = load_dataset("ptenv-v2-mini")
    task = next(t for t in ds.split("test") if any(a.source == "preference" for c in t.gold.calls for a in c.args.values()))
    (call,) = task.gold.calls
    key = next(k for k, a in call.args.items() if a.source == "preference")
    right = call.args[key].accepted[0]
    tool = REG.tools[call.tool]
    wrong = next(v for v in (next(p for p in tool.params if tool.arg_name(p) == key).enum or ()) if v != right)
    base = {k: a.accepted[0] for k, a in call.args.items() if k != key}
    env = gym.make("ptenv/PersonalTool-v0", dataset="ptenv-v2-mini", split="test", visibility="profile")
    seen = []
    for extra in ({key: right}, {key: wrong}, {}):
        env.reset(options={"task_id": task.id})
        env.step(json.dumps({"name": call.tool, "arguments": {**base, **extra}}))
        *_, info = env.step(json.dumps({"name": "finish"}))
        seen.append((info["success"], info["metrics"]["preference_params"]))
    assert seen == [(True, [1, 1]), (True, [0, 1]), (True, [0, 1])], seen
    from ptenv.core.episode import PREFERENCE_SORT

    assert PREFERENCE_SORT in json.loads(env.reset(options={"task_id": task.id})[0])["instructions"]
    answer, _, _ = ptbench_answer(task, REG)
    assert key not in answer[1][0][call.api]
    # ptenv-v1's records have no such column
    v1 = gym.make("ptenv/PersonalTool-v0", dataset="ptenv-v1-mini", split="test")
    assert PREFERENCE_SORT not in json.loads(v1.reset(seed=0)[0])["instructions"]
    *_, info = v1.step(json.dumps({"name": "finish"}))
    assert "preference_params" not in info["metrics"]


def test_an_employers_rule_decides_work_spending_and_is_shown_on_every_request_it_could_cover() -> None:
    from ptenv.scenarios.situations import policy_platform

    ds = load_dataset("ptenv-v2")
    user = ScriptedUser()
    ruled = shown = 0
    for t in ds.tasks:
        policy = getattr(ds.users[t.user_id], "policies", {}).get(t.scenario)
        if policy is None:
            continue
        shown += 1
        sc = REG.scenarios[t.scenario]
        assert unavailable_in(sc, [policy.text]) == {policy.platform}  # its text names its platform, and only it
        assert policy_platform(sc, [policy.text], t.context) == (policy.platform if t.context == policy.context else None)
        if t.context == policy.context:
            ruled += 1
            assert t.gold.platform == policy.platform and not t.notices, t.id
            answer = user.reply(PLATFORM_QUESTION, Situation(task=t, user=ds.users[t.user_id], scenario=sc))
            assert told_platform(answer, sc) == policy.platform
    assert shown > 1500 and ruled > 100
    # the observation shows the rule on every request of the user in that scenario
    mini = load_dataset("ptenv-v2-mini")
    task = next(t for t in mini.split("test") if t.scenario in getattr(mini.users[t.user_id], "policies", {}))
    env = gym.make("ptenv/PersonalTool-v0", dataset="ptenv-v2-mini", split="test", visibility="hidden")
    obs = json.loads(env.reset(options={"task_id": task.id})[0])
    assert obs["policies"] == [mini.users[task.user_id].policies[task.scenario].text]  # type: ignore[attr-defined]


def test_notices_and_policies_never_show_a_profile_fact_or_the_gold() -> None:
    """They are shown in every visibility mode, hidden included: no fact of the user (their
    company, city, addresses...) and never the platform a notice makes the answer."""
    ds = load_dataset("ptenv-v2")
    for t in ds.tasks:
        user = ds.users[t.user_id]
        shown = [n.text for n in t.notices] + [p.text for p in getattr(user, "policies", {}).values()]
        for text in shown:
            for key in ("full_name", "company", "city", "home_address", "work_address", "phone", "email", "work_email", "passport_number"):
                assert str(user.facts[key]) not in text, (t.id, key, text)
        for n in t.notices:
            assert REG.scenarios[t.scenario].platform(t.gold.platform).name not in n.text


def test_the_ptbench_form_of_a_v2_task_carries_what_decides_it() -> None:
    """PTBench's records have no place for notices or an employer's rule: the export and the
    PTBench-v0 id put them before the request, so the one-shot form stays decidable."""
    ds = load_dataset("ptenv-v2-mini")
    records = {r["id"]: r for r in ds.to_ptbench("test")}
    from ptenv.core.records import ONE_SHOT_KINDS

    task = next(t for t in ds.split("test") if t.notices and t.kind in ONE_SHOT_KINDS)
    assert records[task.id]["query"] == f"{task.notices[0].text} {task.query}"
    plain = next(t for t in ds.split("test") if not t.notices and t.scenario not in getattr(ds.users[t.user_id], "policies", {}))
    assert records[plain.id]["query"] == plain.query
    env = gym.make("ptenv/PTBench-v0", dataset="ptenv-v2-mini", split="test")
    obs = json.loads(env.reset(options={"task_id": task.id})[0])
    assert obs["query"].startswith(task.notices[0].text)


def test_a_purchase_the_guardian_rule_forbids_is_declined_and_nothing_else_is() -> None:
    from ptenv.rl.reader import build_args
    from ptenv.rl.request import read_request
    from ptenv.scenarios.situations import guardian_rule, must_decline

    rule = guardian_rule()
    ds = load_dataset("ptenv-v2")
    refusals = 0
    for t in ds.tasks:
        if t.scenario != rule["scenario"]:
            continue
        req = read_request({"scenario": t.scenario, "query": t.query, "now": t.now, "user": {"visibility": "profile", "profile": ""}})
        if req.template is None or req.template.first.key != rule["api"]:
            assert not t.gold.decline
            continue
        args = build_args(req.template.first, req.texts, t.now, {}, {}, req.template.read_slot)
        forbidden = must_decline(t.scenario, rule["api"], args, ds.users[t.user_id].facts["age"])
        assert t.gold.decline == forbidden and (t.kind == "refusal") == forbidden, t.id
        refusals += forbidden
    assert refusals > 50

    mini = load_dataset("ptenv-v2-mini")
    env = gym.make("ptenv/PersonalTool-v0", dataset="ptenv-v2-mini", split="all", visibility="profile")
    task = next(t for t in mini.tasks if t.gold.decline)
    obs = json.loads(env.reset(options={"task_id": task.id})[0])
    assert "decline" in {x["name"] for x in obs["tools"]} and rule["text"] in obs["policies"]
    *_, info = env.step(json.dumps({"name": "decline", "arguments": {"reason": "You need a guardian's consent."}}))
    assert info["success"] is True and info["kind"] == "refusal"
    env.reset(options={"task_id": task.id})
    (res,) = json.loads(env.step(json.dumps({"name": "decline", "arguments": {"reason": " "}}))[0])["results"]
    assert res["error"]["code"] == "invalid_arguments"
    *_, info = env.step(json.dumps({"name": "finish"}))
    assert info["success"] is False  # finishing is not declining
    other = next(t for t in mini.tasks if not t.gold.decline and t.scenario == rule["scenario"])
    env.reset(options={"task_id": other.id})
    *_, info = env.step(json.dumps({"name": "decline", "arguments": {"reason": "no"}}))
    assert info["success"] is False  # declining what no rule forbids is wrong
    # ptenv-v1 offers no decline; PTBench's form leaves refusals out
    v1 = gym.make("ptenv/PersonalTool-v0", dataset="ptenv-v1-mini", split="test")
    assert "decline" not in {x["name"] for x in json.loads(v1.reset(seed=0)[0])["tools"]}
    assert not any(
        r["id"] == task.id
        for r in mini.to_ptbench(next(s for s in ("train", "test_trained", "test_untrained") if task.id in mini.split_ids(s)))
    )
