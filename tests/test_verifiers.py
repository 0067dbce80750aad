"""The verifiers route: ptenv under the real ``verifiers.GymEnv``, driven through the real openai SDK
against the loopback server, with a scripted "model" that plays the heuristic agent."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from conftest import need_extra

import ptenv  # noqa: F401
from ptenv.agents.heuristic import HeuristicAgent
from ptenv.rl.verifiers_adapter import SYSTEM_PROMPT, GymEnvAdapter, action_from_reply, gym_env_kwargs
from ptenv.testing.loopback import LoopbackLLM, Text

ENDED = "\nEpisode already ended."


def heuristic_model(provider: str, body: dict[str, Any]) -> Text:
    """Replays the conversation's observations through a fresh heuristic agent and answers with its
    last action, wrapped in prose the adapter has to see through."""
    msgs = body["messages"]
    assert msgs[0] == {"role": "system", "content": SYSTEM_PROMPT}
    observations = [m["content"] for m in msgs if m["role"] == "user"]
    if observations[-1].endswith(ENDED):  # GymEnv asks once more after the end: nothing to do
        return Text("All done.")
    agent = HeuristicAgent()
    agent.reset(seed=0)
    action = ""
    for obs in observations:
        action = agent.act(obs)
    return Text(f"Here is my next step:\n```json\n{action}\n```")


def direct_return(kwargs: dict[str, Any], seed: int) -> float:
    """The heuristic's episode return on the adapter itself, stepped without verifiers."""
    env = GymEnvAdapter(**kwargs)
    agent = HeuristicAgent()
    agent.reset(seed=0)
    obs, _ = env.reset(seed=seed)
    total = 0.0
    while True:
        obs, reward, terminated, truncated, _ = env.step(agent.act(obs))
        total += float(reward)
        if terminated or truncated:
            env.close()
            return total


def test_gym_env_runs_ptenv_episodes_and_scores_them_as_ptenv_does() -> None:
    vf = need_extra("verifiers", "verifiers")
    openai = pytest.importorskip("openai")
    kw = gym_env_kwargs("ptenv/PersonalTool-v0", num_train_episodes=3, num_eval_episodes=4, seed=10, visibility="profile")
    with LoopbackLLM() as srv:
        srv.handler = heuristic_model
        env = vf.GymEnv(**kw)
        assert env.eval_dataset["answer"] == ["13", "14", "15", "16"]  # seeds, naming no task
        client = vf.OpenAIChatCompletionsClient(openai.AsyncOpenAI(base_url=srv.openai_base_url, api_key="sk-test"))
        results = asyncio.run(
            env.evaluate(
                client, "loopback", num_examples=-1, rollouts_per_example=1, on_start=lambda *a, **k: None, on_progress=lambda *a, **k: None
            )
        )
        assert not srv.errors
    outputs = results["outputs"]
    assert len(outputs) == 4
    for out in outputs:
        assert out["error"] is None and out["stop_condition"] == "is_done"
        expected = direct_return(kw["env_kwargs"], int(out["answer"]))
        assert out["reward"] == pytest.approx(expected)
        assert expected > 0.9  # the heuristic solves profile-visible tasks: a real episode, not a stub
    # the eval rows came from the held-out users of test_untrained
    for out in outputs:
        first = json.loads(out["prompt"][-1]["content"])
        assert first["type"] == "task"
    eval_env = GymEnvAdapter(**kw["env_kwargs"])
    eval_env.reset(seed=13)
    assert eval_env._env is not None and eval_env._env.unwrapped.split == "test_untrained"  # type: ignore[attr-defined]


def test_adapter_routes_seeds_and_plays_whole_episodes() -> None:
    kw = gym_env_kwargs("ptenv/PersonalSession-v0", num_train_episodes=5, seed=0, tasks_per_session=3, max_steps=4)
    assert kw["max_episode_steps"] == 3 * 4 + 1 and kw["env_kwargs"]["eval_from_seed"] == 5
    env = GymEnvAdapter(**kw["env_kwargs"])
    a, _ = env.reset(seed=4)
    b, _ = env.reset(seed=5)
    splits = {s: e.unwrapped.split for s, e in env._envs.items()}  # type: ignore[attr-defined]
    assert splits == {"train": "train", "test_untrained": "test_untrained"}
    assert env.reset(seed=4)[0] == a  # deterministic by seed: GymEnv resets a fresh env per rollout
    with pytest.raises(ValueError, match="together"):
        GymEnvAdapter(eval_split="test")


@pytest.mark.parametrize(
    ("reply", "action"),
    [
        ('{"name": "finish"}', '{"name": "finish"}'),
        ('I will call {"name": "x__y", "arguments": {"a": 1}} now.', '{"name": "x__y", "arguments": {"a": 1}}'),
        ('Done:\n```json\n{"name": "finish"}\n```', '{"name": "finish"}'),
        ("QuickBite:[search(q=[1, 2])]", "QuickBite:[search(q=[1, 2])]"),  # PTBench form passes through whole
        ("no action here", "no action here"),  # the env answers it with an error observation
        ("", ""),
    ],
)
def test_action_from_reply(reply: str, action: str) -> None:
    assert action_from_reply(reply) == action
