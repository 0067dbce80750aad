"""RL: candidate actions and numeric observations, the numeric ids, and the numpy learner."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from conftest import need_extra
from gymnasium.utils.env_checker import check_env

import ptenv  # noqa: F401
from ptenv.core.episode import EpisodeConfig
from ptenv.core.observations import dumps
from ptenv.core.sources import dataset_source
from ptenv.core.task_episode import TaskEpisode
from ptenv.rl.candidates import CandidateBuilder, K
from ptenv.rl.features import SIZE
from ptenv.rl.wrappers import CandidateActions, NumericObservation
from ptenv.scenarios import Gold, Task, load_dataset
from ptenv.scoring import GoldAnswer
from ptenv.tools_registry import Registry

NUMERIC = ["ptenv/PersonalTool-Numeric-v0", "ptenv/PersonalSession-Numeric-v0"]


@pytest.mark.parametrize("env_id", NUMERIC)
def test_numeric_ids_pass_check_env(env_id: str) -> None:
    env = gym.make(env_id, split="test")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    assert env.observation_space.shape == (SIZE,) and env.action_space.n == K


@pytest.mark.parametrize(
    "env_id", ["ptenv/PersonalTool-v0", "ptenv/PersonalTool-Hidden-v0", "ptenv/PersonalSession-v0", "ptenv/PTBench-v0"]
)
def test_wrappers_work_on_any_id(env_id: str) -> None:
    env = NumericObservation(CandidateActions(gym.make(env_id, split="test")))
    rng = np.random.default_rng(0)
    obs, info = env.reset(seed=0)
    for _ in range(40):
        assert obs.shape == (SIZE,) and obs.dtype == np.float32 and info["action_mask"][0] == 1
        obs, r, term, trunc, info = env.step(int(rng.integers(K)))  # masked indices too: never raises
        if term or trunc:
            obs, info = env.reset()


MINI = dataset_source("ptenv-v1-mini", "test", None, None)


def _episode(t: Task, config: EpisodeConfig, gold: GoldAnswer | None = None) -> TaskEpisode:
    """An episode of any task, even one whose gold was replaced (the real gold is only scored)."""
    profile, tools = MINI.profile_text(t.user_id, t.scenario, config.visibility), MINI.tools_json(t.scenario, config.visibility)
    return TaskEpisode(t, MINI.dataset.users[t.user_id], MINI.registry, config, gold or MINI.gold(t.id), profile, tools)


def _candidates(task_episode: TaskEpisode) -> list[str]:
    b = CandidateBuilder()
    b.observe(task_episode.intro_text())
    return [c.action for c in b.candidates()]


def _play_hidden(ep: TaskEpisode) -> tuple[CandidateBuilder, list[list[str]]]:
    """Take every look-up and the question the builder offers in hidden mode, in order; return
    the builder and the candidate actions seen at each step."""
    b = CandidateBuilder()
    b.observe(ep.intro_text())
    seen = []
    for _ in range(20):  # at most one look-up per profile field, and one question
        cands = b.candidates()
        seen.append([c.action for c in cands])
        extra = [i for i, c in enumerate(cands) if c.kind in ("lookup", "ask")]
        if not extra:
            break
        payload, _ = ep.act(b.choose(extra[0], cands))
        b.observe(dumps(payload))
    return b, seen


def test_candidates_are_never_built_from_the_gold() -> None:
    nowhere = GoldAnswer(platform="nowhere", calls=())
    for visibility in ("history", "hidden"):
        config = EpisodeConfig(visibility=visibility)  # type: ignore[arg-type]
        for t in MINI.tasks:
            stripped = t.model_copy(update={"gold": Gold(platform="nowhere", calls=())})
            if visibility == "history":
                assert _candidates(_episode(t, config)) == _candidates(_episode(stripped, config, nowhere))
            else:  # through the look-ups and the question too
                assert _play_hidden(_episode(t, config))[1] == _play_hidden(_episode(stripped, config, nowhere))[1]


def test_hidden_mode_look_ups_and_question_make_the_gold_reachable() -> None:
    """With the profile hidden, after the offered look-ups the first gold call is a candidate, and
    the user's answer to the offered question names the gold platform."""
    config = EpisodeConfig(visibility="hidden")
    tasks = MINI.tasks
    asked = 0
    for t in tasks:
        b, seen = _play_hidden(_episode(t, config))
        gold = t.gold.calls[0]
        actions = [json.loads(a) for a in seen[-1]]
        assert any(a["name"] == gold.tool and a.get("arguments") == gold.canonical_args() for a in actions), t.id
        if b.asked:
            asked += 1
            assert b.told == t.gold.platform, t.id
        else:  # no question when the user named the platform
            assert b.named == t.gold.platform
    assert asked > len(tasks) // 2


def test_the_gold_call_is_a_candidate_whenever_it_is_reachable() -> None:
    """With the history visible (facts shown), every request's first gold call is a candidate."""
    config = EpisodeConfig(visibility="history")
    found = 0
    tasks = MINI.tasks
    for t in tasks:
        gold = t.gold.calls[0]
        actions = [json.loads(a) for a in _candidates(_episode(t, config)) if a != '{"name": "finish"}']
        found += any(a["name"] == gold.tool and a["arguments"] == gold.canonical_args() for a in actions)
    assert found == len(tasks)


def test_the_bandit_learns_from_reward_and_its_checkpoint_evaluates(tmp_path: Path) -> None:
    """A short seeded run on the mini dataset beats random and profile-blind on held-out users."""
    from ptenv.evaluation import evaluate
    from ptenv.rl.train import train_bandit

    rows = train_bandit(
        "ptenv/PersonalTool-Numeric-v0", 4000, tmp_path, seed=0, env_kwargs={"dataset": "ptenv-v1-mini"}, block=200, progress=False
    )
    assert rows[-1]["platform"] > rows[0]["platform"] + 0.2
    for f in ("checkpoint.npz", "curve.csv", "curve.png"):
        assert (tmp_path / f).stat().st_size > 0
    kw = {"dataset": "ptenv-v1-mini", "visibility": "history"}
    trained = evaluate("ptenv/PersonalTool-v0", str(tmp_path / "checkpoint.npz"), "test_untrained", None, env_kwargs=kw, progress=False)
    blind = evaluate("ptenv/PersonalTool-v0", "profile-blind", "test_untrained", None, env_kwargs=kw, progress=False)
    rand = evaluate("ptenv/PersonalTool-v0", "random", "test_untrained", None, env_kwargs=kw, progress=False)
    assert trained["metrics"]["platforms"] > blind["metrics"]["platforms"] + 0.2
    assert trained["metrics"]["overall"] > rand["metrics"]["overall"] + 0.5
    res = subprocess.run(
        [sys.executable, "-m", "ptenv", "eval", "--agent", str(tmp_path / "nope.npz"), "--episodes", "1"], capture_output=True, text=True
    )
    assert res.returncode == 2 and "cannot load checkpoint" in res.stderr


def test_the_bandit_learns_to_look_up_and_ask_in_hidden_sessions(tmp_path: Path) -> None:
    """On the hidden-profile session id, a short run learns to read the fields it needs and ask which
    app, and beats profile-blind and the feedback-only learner on held-out users' sessions."""
    from ptenv.evaluation import evaluate
    from ptenv.rl.train import train_bandit

    train_bandit("ptenv/PersonalSession-Numeric-v0", 3000, tmp_path, seed=0, env_kwargs={"dataset": "ptenv-v1-mini"}, progress=False)
    kw = {"dataset": "ptenv-v1-mini", "tasks_per_session": 5}
    # 5 seeded sessions per held-out user (50 requests): one session each (10) let a single request move a figure by 0.1
    run = {
        a: evaluate("ptenv/PersonalSession-v0", a, "test_untrained", None, env_kwargs=kw, progress=False, trials=5)
        for a in (str(tmp_path / "checkpoint.npz"), "profile-blind", "learner")
    }
    trained, blind, learner = (r["metrics"] for r in run.values())
    assert trained["platforms"] > max(blind["platforms"], learner["platforms"]) + 0.2, (trained, blind, learner)
    assert trained["profile_params"] > blind["profile_params"] + 0.3, (trained, blind)


@pytest.mark.parametrize("env_id", NUMERIC)
def test_numeric_ids_pass_stable_baselines3_check_env(env_id: str) -> None:
    sb3_checker = need_extra("stable_baselines3.common.env_checker", "rl")
    sb3_checker.check_env(gym.make(env_id, split="test").unwrapped, warn=True)


def test_maskable_ppo_learns_to_beat_random_and_profile_blind(tmp_path: Path) -> None:
    """A short seeded MaskablePPO run (sb3-contrib) on the numeric id, evaluated on held-out users."""
    need_extra("sb3_contrib", "rl")
    from ptenv.evaluation import evaluate
    from ptenv.rl.train import train_ppo

    train_ppo("ptenv/PersonalTool-Numeric-v0", 6000, tmp_path, seed=0, progress=False)
    kw = {"dataset": "ptenv-v1", "visibility": "history"}
    ppo = evaluate(
        "ptenv/PersonalTool-v0", str(tmp_path / "checkpoint.zip"), "test_untrained", None, episodes=200, env_kwargs=kw, progress=False
    )
    blind = evaluate("ptenv/PersonalTool-v0", "profile-blind", "test_untrained", None, episodes=200, env_kwargs=kw, progress=False)
    rand = evaluate("ptenv/PersonalTool-v0", "random", "test_untrained", None, episodes=200, env_kwargs=kw, progress=False)
    assert ppo["metrics"]["platforms"] > blind["metrics"]["platforms"] + 0.15, (ppo["metrics"], blind["metrics"])
    assert ppo["metrics"]["overall"] > rand["metrics"]["overall"] + 0.3


def test_trl_grpo_adapter_interface() -> None:
    """The shapes GRPOTrainer uses: a dataset of conversational prompts with extra columns, and a
    reward function called with the completions and those columns as keyword arguments."""
    from ptenv.rl.trl_adapter import PTEnvReward, grpo_prompts

    rows = grpo_prompts("test_untrained", dataset="ptenv-v1-mini", limit=6)
    assert len(rows) == 6 and all(r["prompt"][0]["role"] == "system" and r["prompt"][1]["role"] == "user" for r in rows)
    assert not any('"accepted"' in json.dumps(r) or '"gold"' in json.dumps(r) for r in rows)  # no gold in the prompts
    ds = load_dataset("ptenv-v1-mini")
    reg = Registry.default()

    def gold_text(task_id: str) -> str:
        t = ds.by_id[task_id]
        calls = ", ".join(f"{c.api}(" + ", ".join(f"{k}={a.accepted[0]!r}" for k, a in c.args.items()) + ")" for c in t.gold.calls)
        return f"{reg.scenarios[t.scenario].platform(t.gold.platform).name}:[{calls}]"

    reward = PTEnvReward("test_untrained", dataset="ptenv-v1-mini")
    ids = [r["task_id"] for r in rows]
    completions = [[{"role": "assistant", "content": gold_text(i)}] for i in ids[:3]] + ["not an answer"] * 3
    got = reward(completions=completions, task_id=ids, prompts=[r["prompt"] for r in rows])
    assert got == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0] and reward.__name__ == "ptenv_sparse"
    with pytest.raises(ValueError, match="completions"):
        reward(completions=["x"], task_id=ids)


def test_the_template_pre_check_never_changes_what_a_request_matches() -> None:
    """``Template.may_match`` skips templates whose literal head differs, without compiling them;
    the match must be the one a plain pass over every template finds (case-insensitive too)."""
    from ptenv.rl.reader import match_request, slots_valid, strip_query, templates
    from ptenv.tools_registry import Registry

    def plain(core: str, scenario: str, now: str) -> object:
        for tpl in templates(scenario):
            m = tpl.regex.fullmatch(core)
            if m is not None:
                texts = {slot: m.group(f"s{i}") for i, slot in enumerate(tpl.slots)}
                if slots_valid(tpl, texts, now):
                    return tpl, texts
        return None

    reg = Registry.default()
    checked = matched = 0
    for t in load_dataset("ptenv-v1-mini").tasks[::7]:
        core = strip_query(t.query, reg.scenarios[t.scenario])[0]
        for variant in (core, core.upper(), core.swapcase(), "Ünïcode " + core, core + " please"):
            got = match_request(variant, t.scenario, t.now)
            assert got == plain(variant, t.scenario, t.now), variant
            checked += 1
            matched += got is not None
    assert checked > 500 and matched > checked / 3


@pytest.mark.parametrize("env_id", ["ptenv/PersonalTool-Numeric-v0", "ptenv/PersonalSession-Numeric-v0"])
def test_what_the_numeric_ids_remember_never_changes_an_observation(env_id: str) -> None:
    """Candidates, request features and call texts are remembered by value across requests; a
    rollout with every such memory emptied first must see the same arrays, masks and rewards."""
    from ptenv.rl import candidates as cand_mod
    from ptenv.rl import features as feat_mod
    from ptenv.rl import reader, request

    def rollout() -> list[tuple[bytes, bytes, float]]:
        env = gym.make(env_id, dataset="ptenv-v1-mini", split="test")
        obs, info = env.reset(seed=3)
        rng = np.random.default_rng(3)
        out = []
        for _ in range(150):
            action = int(rng.integers(int(info["action_mask"].sum())))
            obs, reward, term, trunc, info = env.step(action)
            out.append((obs.tobytes(), info["action_mask"].tobytes(), float(reward)))
            if term or trunc:
                obs, info = env.reset()
        return out

    def forget() -> None:
        cand_mod._FIRST_CANDIDATES.clear()
        feat_mod._ROWS.clear()
        reader._CALL_TEXTS_BY_SCENARIO.clear()
        cand_mod._request_view.cache_clear()
        reader._CALL_TEXTS.clear()
        request._read_profile.cache_clear()
        request._read_query.cache_clear()

    forget()
    cold = rollout()
    warm = rollout()  # everything remembered from the first
    forget()
    assert cold == warm == rollout()
