"""Test-only privileges: reading the gold of the running episode.

Nothing here is used by the environments, the agents or the evaluation of agents. The oracle
built on it exists to prove every task is solvable and every gold answer executes; it reads the
gold through :func:`current_gold`, never through an observation or ``info``.
"""

from __future__ import annotations

import json
from typing import Any

import gymnasium as gym

from ptenv.core.task_episode import TaskEpisode
from ptenv.core.user_sim import told_platform
from ptenv.envs.session_env import PersonalSessionEnv
from ptenv.envs.tool_env import PersonalToolEnv
from ptenv.scenarios import Gold, Task


def current_episode(env: gym.Env[Any, Any]) -> TaskEpisode:
    """The running episode of a dataset task (gold included). TEST HOOK: not for agents."""
    inner = env.unwrapped
    ep = inner.episode if isinstance(inner, (PersonalToolEnv, PersonalSessionEnv)) else None
    if not isinstance(ep, TaskEpisode):
        raise RuntimeError("no dataset task is running; call reset() first (PTBench records carry no task)")
    return ep


def current_task(env: gym.Env[Any, Any]) -> Task:
    """The task of the running episode (gold included). TEST HOOK: not for agents."""
    return current_episode(env).task


def current_gold(env: gym.Env[Any, Any]) -> Gold:
    return current_task(env).gold


def oracle_actions(env: gym.Env[Any, Any]) -> list[str]:
    """One JSON action per gold call, then ``finish``."""
    gold = current_gold(env)
    return [json.dumps({"name": c.tool, "arguments": c.canonical_args()}) for c in gold.calls] + ['{"name": "finish"}']


def asking_oracle_actions(env: gym.Env[Any, Any], ask: Any) -> list[str]:
    """The oracle for hidden mode: profile-derived values and a preferred platform come from
    the simulated user's answers (``ask(question) -> answer``), not from the gold. Only the
    request's structure (which API, the query's own values) is read from the gold."""
    ep = current_episode(env)
    task = ep.task
    platform = task.gold.platform
    if not task.platform_named:
        answer = ask("Which platform would you use for this?")
        platform = told_platform(answer, ep.scenario) or "?"
    actions = []
    for c in task.gold.calls:
        args = {}
        for k, a in c.args.items():
            if a.source == "profile" and a.profile_field is not None:
                reply = ask(f"What is your {a.profile_field.replace('_', ' ')}?")
                value: Any = reply.split(" is ", 1)[1].rstrip(".") if " is " in reply else reply
                if isinstance(a.accepted[0], int):
                    value = int(value)
                args[k] = value
            else:
                args[k] = a.accepted[0]
        api = c.tool.split("__", 1)[1]
        actions.append(json.dumps({"name": f"{platform}__{api}", "arguments": args}))
    return [*actions, '{"name": "finish"}']
