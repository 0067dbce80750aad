"""The agent protocol, and the table that finds an agent by name.

Agents live in ``ptenv.agents`` (or in a user's own package) and depend on the core, never the
reverse: the core only knows this protocol and the import strings below, the way Gymnasium's
registry holds entry points. ``--agent my_pkg.my_mod:MyAgent`` goes through the same door.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import zipfile
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
    "mlp-policy": "ptenv.agents.mlp_policy:MLPPolicyAgent",
    "transformers": "ptenv.agents.transformers_agent:TransformersAgent",
    # TEST-ONLY PRIVILEGE: reads the gold through ptenv.testing.gold (validity ceiling, never a baseline)
    "oracle": "ptenv.testing.oracle:OracleAgent",
}


def _import(module: str) -> Any:
    """Import a user's agent module; one in the current folder is found too, as ``python -m``
    finds it (the folder is searched after the installed packages, so it shadows none of them)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        here = os.getcwd()
        if exc.name != module.split(".")[0] or here in sys.path:
            raise
        sys.path.append(here)
        try:
            return importlib.import_module(module)
        except ModuleNotFoundError:
            sys.path.remove(here)
            raise ModuleNotFoundError(f"no module named {module!r} in the current folder or the installed packages") from None


def _npz_agent(path: str) -> str:
    """Which agent reads an ``.npz`` checkpoint: a policy MLP's has a header, a bandit's does not."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "mlp-policy" if "header.npy" in archive.namelist() else "bandit"
    except (OSError, zipfile.BadZipFile):
        return "bandit"  # its loader says what is wrong with the file


def load_agent(spec: str, *, trust_checkpoint: bool = False, **kwargs: Any) -> Agent | AsyncAgent:
    """An agent from a built-in name or ``module:Class``, or a checkpoint path of ``ptenv train``.

    ``trust_checkpoint`` only concerns PPO ``.zip`` checkpoints: one in stable-baselines3's own
    format unpickles objects from the file, so it can run arbitrary code, and is refused unless
    the caller trusts the file. It is never passed to an agent's constructor."""
    if spec.endswith((".npz", ".zip")):  # a checkpoint of ``ptenv train`` (bandit or policy MLP .npz, PPO .zip)
        ppo = spec.endswith(".zip")
        module, _, cls = AGENTS["ppo" if ppo else _npz_agent(spec)].partition(":")
        loader = getattr(importlib.import_module(module), cls).load
        options = {k: v for k, v in kwargs.items() if k == "seed"}
        if ppo:  # the bandit's .npz is read with numpy's allow_pickle=False: there is nothing to trust
            options["trust_checkpoint"] = trust_checkpoint
        try:
            trained: Agent = loader(spec, **options)
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"cannot load checkpoint {spec!r}: {exc}") from None
        return trained
    target = AGENTS.get(spec, spec)
    if ":" not in target:
        raise ValueError(f"unknown agent {spec!r}; built-in: {', '.join(AGENTS)}; or give module:Class")
    module, _, cls = target.partition(":")
    try:
        factory = getattr(_import(module), cls)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load agent {spec!r}: {exc}") from None
    if not inspect.isclass(factory):  # --agent os:system must not call os.system
        raise ValueError(f"{spec!r} is not an agent class; --agent module:Class names a class with name, reset and act")
    agent = factory(**kwargs)
    if not isinstance(agent, (Agent, AsyncAgent)):
        raise ValueError(f"{spec!r} implements neither Agent (name, reset, act) nor AsyncAgent (name, reset, aact)")
    return agent
