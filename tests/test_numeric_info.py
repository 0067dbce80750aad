"""The numeric ids' ``info``: only what an RL loop reads on most steps, the whole result when a
request closes, and nothing lost against the text id's own info (``full_info=True``)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import ptenv  # noqa: F401  (registers the ids)
from ptenv.envs.base import RESULT_KEYS
from ptenv.evaluation.bench_steps import BareNumericEnv
from ptenv.rl.wrappers import RequestResult

NUMERIC = ["ptenv/PersonalTool-Numeric-v0", "ptenv/PersonalSession-Numeric-v0"]


def _rollout(env_id: str, steps: int = 120, **kwargs: Any) -> list[tuple[bytes, float, bool, dict[str, Any], list[dict[str, Any]]]]:
    env = gym.make(env_id, dataset="ptenv-v1-mini", split="test", **kwargs)
    numeric: Any = env.unwrapped
    obs, info = env.reset(seed=5)
    rng = np.random.default_rng(5)
    out = []
    for _ in range(steps):
        action = int(rng.integers(int(info["action_mask"].sum())))
        obs, reward, term, trunc, info = env.step(action)
        out.append((obs.tobytes(), float(reward), term or trunc, info, numeric.closed_tasks(info)))
        if term or trunc:
            obs, info = env.reset()
    env.close()
    return out


@pytest.mark.parametrize("env_id", NUMERIC)
def test_lean_info_loses_nothing_the_full_info_has(env_id: str) -> None:
    lean, full = _rollout(env_id), _rollout(env_id, full_info=True)
    closed = 0
    for (obs, reward, done, info, results), (f_obs, f_reward, f_done, f_info, f_results) in zip(lean, full, strict=True):
        assert (obs, reward, done) == (f_obs, f_reward, f_done)
        assert np.array_equal(info["action_mask"], f_info["action_mask"])
        assert results == f_results  # closed_tasks reads the same result from either
        if results:
            closed += 1
            assert set(info) <= {"action_mask", "success", "result", "session"}
            assert isinstance(info["result"], RequestResult) and info["success"] == results[0]["success"]
            assert tuple(results[0]) == RESULT_KEYS
        else:  # a step that closes nothing carries the mask alone
            assert set(info) == {"action_mask"}
        assert len(f_info) > len(info)
    assert closed > 10


def test_reset_info_and_debug_gold() -> None:
    env = gym.make("ptenv/PersonalTool-Numeric-v0", dataset="ptenv-v1-mini", split="test")
    _, info = env.reset(seed=0)
    assert set(info) == {"action_mask", "task_id"}
    debug = gym.make("ptenv/PersonalTool-Numeric-v0", dataset="ptenv-v1-mini", split="test", debug=True)
    _, info = debug.reset(seed=0)
    assert "gold" in info  # asked for: the debug mode
    while True:
        _, _, term, trunc, info = debug.step(0)
        if term or trunc:
            break
    assert {"gold", "result", "success"} <= set(info)


def test_a_session_reports_its_summary_on_its_last_step() -> None:
    env = gym.make("ptenv/PersonalSession-Numeric-v0", dataset="ptenv-v1-mini", split="test", tasks_per_session=3)
    env.reset(seed=1)
    results = 0
    for _ in range(200):
        _, _, term, trunc, info = env.step(0)
        results += "result" in info
        if term or trunc:
            break
    assert term and results == 3 and info["session"]["tasks"] == 3


def test_full_info_must_be_a_bool() -> None:
    with pytest.raises(ValueError, match="full_info must be true or false"):
        gym.make("ptenv/PersonalTool-Numeric-v0", dataset="ptenv-v1-mini", full_info="yes")


def test_a_vector_env_merges_a_mask_per_step_and_a_result_per_closed_request() -> None:
    """What ``gym.make_vec`` makes of the lean info: the mask batched, each closed request's result
    as one object (no recursive merge of its reward terms and columns)."""
    venv = gym.make_vec("ptenv/PersonalTool-Numeric-v0", num_envs=2, vectorization_mode="sync", dataset="ptenv-v1-mini", split="test")
    _, info = venv.reset(seed=0)
    assert info["action_mask"].shape == (2, 9)
    rng = np.random.default_rng(0)
    seen = 0
    for _ in range(60):
        actions = (rng.random(2) * info["action_mask"].sum(axis=1)).astype(np.int64)
        _, _, term, trunc, info = venv.step(actions)
        assert info["_action_mask"].all()
        if "result" in info:
            for i in np.flatnonzero(info["_result"]):
                assert isinstance(info["result"][i], RequestResult) and info["success"][i] == info["result"][i].success
                seen += 1
    venv.close()
    assert seen > 5


def test_the_bench_floor_env_is_a_valid_env() -> None:
    from gymnasium.utils.env_checker import check_env

    check_env(BareNumericEnv(), skip_render_check=True)


@pytest.mark.parametrize("env_id", NUMERIC)
def test_a_numeric_id_lists_its_episodes_and_starts_any_of_them(env_id: str) -> None:
    env = gym.make(env_id, dataset="ptenv-v1-mini", split="test")
    numeric: Any = env.unwrapped
    keys = numeric.episode_keys()
    assert keys == numeric._text_env.episode_keys() and len(keys) > 1
    env.reset(options=numeric.reset_options(keys[-1]))
    assert numeric._text_env.reset_options(keys[-1]) == numeric.reset_options(keys[-1])
    text = numeric._text_env
    if text.episode_key == "task_id":
        assert text.episode.task.id == keys[-1]
    else:  # a session: that user's requests
        assert text.episode.user.user_id == keys[-1]
