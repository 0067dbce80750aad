"""The agent protocol, and the table that finds an agent by name.

Agents live in ``ptenv.agents`` (or in a user's own package) and depend on the core, never the
reverse: the core only knows this protocol and the import strings below, the way Gymnasium's
registry holds entry points. ``--agent my_pkg.my_mod:MyAgent`` goes through the same door.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Agent(Protocol):
    """Acts on observation texts. ``reset`` is called at each env reset with the seed used."""

    name: str

    def reset(self, seed: int | None = None) -> None: ...

    def act(self, observation: str) -> str: ...


@runtime_checkable
class AsyncAgent(Protocol):
    """The async form, for agents that wait on I/O (LLM APIs): ``ptenv eval --concurrency C``
    runs C episodes at once in one process, each with its own agent instance."""

    name: str

    def reset(self, seed: int | None = None) -> None: ...

    async def aact(self, observation: str) -> str: ...


#: Built-in agents by name -> import string.
AGENTS: dict[str, str] = {
    "heuristic": "ptenv.agents.heuristic:HeuristicAgent",
    "profile-blind": "ptenv.agents.heuristic:ProfileBlindAgent",
    "random": "ptenv.agents.random_agent:RandomAgent",
    "learner": "ptenv.agents.learner:SessionLearner",
    "openai": "ptenv.agents.openai_agent:OpenAIAgent",
    "anthropic": "ptenv.agents.anthropic_agent:AnthropicAgent",
    "ptbench-text": "ptenv.agents.ptbench_text:PTBenchTextAgent",
    "bandit": "ptenv.agents.bandit:CandidateBandit",
    "ppo": "ptenv.agents.ppo_agent:PPOAgent",
    # TEST-ONLY PRIVILEGE: reads the gold through ptenv.testing.gold (validity ceiling, never a baseline)
    "oracle": "ptenv.testing.oracle:OracleAgent",
}


def load_agent(spec: str, **kwargs: Any) -> Agent | AsyncAgent:
    """An agent from a built-in name or ``module:Class``."""
    if spec.endswith((".npz", ".zip")):  # a checkpoint of ``ptenv train`` (bandit .npz, PPO .zip)
        module, _, cls = AGENTS["bandit" if spec.endswith(".npz") else "ppo"].partition(":")
        loader = getattr(importlib.import_module(module), cls).load
        try:
            trained: Agent = loader(spec, **{k: v for k, v in kwargs.items() if k == "seed"})
        except (OSError, KeyError) as exc:
            raise ValueError(f"cannot load checkpoint {spec!r}: {exc}") from None
        return trained
    target = AGENTS.get(spec, spec)
    if ":" not in target:
        raise ValueError(f"unknown agent {spec!r}; built-in: {', '.join(AGENTS)}; or give module:Class")
    module, _, cls = target.partition(":")
    try:
        factory = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load agent {spec!r}: {exc}") from None
    agent = factory(**kwargs)
    if not isinstance(agent, (Agent, AsyncAgent)):
        raise ValueError(f"{spec!r} implements neither Agent (name, reset, act) nor AsyncAgent (name, reset, aact)")
    return agent
